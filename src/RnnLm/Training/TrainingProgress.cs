namespace RnnLm.Training;

/// <summary>Where a run stands after a step (and, after a validation, its result).</summary>
public sealed record TrainingProgress(
    long Step, int Epoch, int BatchIndex, int BatchesPerEpoch, double Loss, double LearningRate,
    long Tokens, double ElapsedSeconds, double TokensPerSecond, double? ValidLoss = null, bool IsBest = false)
{
    public double? ValidPerplexity => ValidLoss is double v ? Math.Exp(v) : null;

    /// <summary>How far the run is, in [0, 1]: the largest share of its epochs, steps and minutes used up.</summary>
    public double Fraction { get; init; }
}
