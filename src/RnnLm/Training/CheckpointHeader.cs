using RnnLm.Nn;

namespace RnnLm.Training;

/// <summary>The JSON part of a checkpoint: sizes, options and where training stands.</summary>
public sealed record CheckpointHeader
{
    public required ModelConfig Model { get; init; }
    public TrainingOptions? Training { get; init; }
    public long OptimizerSteps { get; init; }
    public double LearningRate { get; init; }
    public int Epoch { get; init; }
    /// <summary>The index, in Epoch, of the next batch to train on.</summary>
    public int BatchIndex { get; init; }
    public long TokensSeen { get; init; }
    public double ElapsedSeconds { get; init; }
    public double BestValidLoss { get; init; } = double.PositiveInfinity;
    public double? ValidLoss { get; init; }
    /// <summary>Validations without improvement in a row (for the plateau schedule).</summary>
    public int BadValidations { get; init; }
    /// <summary>Steps in the weight average (TrainingOptions.Average); its tensors are saved as "average/NAME".</summary>
    public long AveragedSteps { get; init; }
    public ulong[]? DropoutRngState { get; init; }
    public string CreatedBy { get; init; } = "RnnLm";
}
