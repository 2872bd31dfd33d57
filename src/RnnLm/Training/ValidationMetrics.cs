namespace RnnLm.Training;

/// <summary>
/// A validation at Step: its loss (null without validation data) and whether it was the best so far. With weight
/// averaging on, AveragedSteps and the losses of the trained and the averaged weights (null when not measured).
/// </summary>
public sealed record ValidationMetrics(long Step, int Epoch, double ElapsedSeconds, long Tokens, double LearningRate,
    double? ValidLoss, bool IsBest)
{
    public long? AveragedSteps { get; init; }
    public double? ValidLossTrained { get; init; }
    public double? ValidLossAveraged { get; init; }
}
