using RnnLm.Nn;

namespace RnnLm.Optim;

/// <summary>Updates parameters from their gradients. Its state can be read and restored for checkpoints.</summary>
public abstract class Optimizer
{
    protected Optimizer(IEnumerable<Parameter> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Check.Positive(learningRate, nameof(learningRate));
        Params = parameters.ToArray();
        LearningRate = learningRate;
    }

    protected Parameter[] Params { get; }

    public IReadOnlyList<Parameter> Parameters => Params;

    /// <summary>The learning rate of the next step (schedules change it between steps).</summary>
    public double LearningRate { get; set; }

    /// <summary>How many steps have been taken.</summary>
    public long StepCount { get; set; }

    public abstract void Step();

    /// <summary>The optimiser's per-parameter buffers, in a fixed order, for saving and restoring.</summary>
    public abstract IReadOnlyList<float[]> StateBuffers { get; }

    public void ZeroGrad()
    {
        foreach (var p in Params) p.ZeroGrad();
    }
}
