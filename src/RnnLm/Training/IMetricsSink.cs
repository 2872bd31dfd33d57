namespace RnnLm.Training;

/// <summary>
/// Where a training run's metrics go. The default writes metrics.jsonl in the run's folder
/// (<see cref="JsonlMetricsSink"/>); an application can pass its own to the <see cref="Trainer"/>.
/// </summary>
public interface IMetricsSink
{
    /// <summary>Before a resumed run goes on from a checkpoint at step: forget what was recorded after it.</summary>
    void ResumeAt(long step);

    void Write(TrainMetrics metrics);

    void Write(ValidationMetrics metrics);
}
