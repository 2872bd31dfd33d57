using System.Numerics.Tensors;
using RnnLm.Nn;

namespace RnnLm.Optim;

/// <summary>Plain stochastic gradient descent: p -= lr·(g + wd·p).</summary>
public sealed class Sgd : Optimizer
{
    public double WeightDecay { get; }

    public Sgd(IEnumerable<Parameter> parameters, double learningRate, double weightDecay = 0) : base(parameters, learningRate)
    {
        Check.NonNegative(weightDecay, nameof(weightDecay));
        WeightDecay = weightDecay;
    }

    public override IReadOnlyList<float[]> StateBuffers => [];

    public override void Step()
    {
        StepCount++;
        foreach (var p in Params)
        {
            var value = p.Value.Data.AsSpan();
            if (WeightDecay > 0 && p.Decay)
                TensorPrimitives.Multiply(value, (float)(1 - LearningRate * WeightDecay), value);
            TensorPrimitives.MultiplyAdd(p.Grad.Data, (float)-LearningRate, value, value);
        }
    }
}
