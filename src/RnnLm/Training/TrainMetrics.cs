namespace RnnLm.Training;

/// <summary>The mean training loss over the steps since the last record, as of Step.</summary>
public sealed record TrainMetrics(long Step, int Epoch, double ElapsedSeconds, long Tokens, double LearningRate, double TrainLoss);
