namespace RnnLm.Training;

/// <summary>The loss became NaN or infinite; the last good checkpoint is kept as it was.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
