namespace RnnLm.Training;

/// <summary>
/// The learning rate of each optimiser step: the schedule's rate (constant, divided on plateaus, or cosine over
/// the run) times a linear warm-up over the first steps. Pure arithmetic on where the run stands, so a resumed run
/// gets the rates of one that never stopped.
/// </summary>
public sealed class LearningRateSchedule
{
    private readonly double _lr, _decay;
    private readonly LrSchedule _kind;
    private readonly int _warmup;

    public LearningRateSchedule(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _lr = options.Lr;
        _kind = options.Schedule;
        _decay = options.LrDecay;
        _warmup = options.Warmup;
    }

    /// <summary>
    /// The rate for the next step, after stepsDone steps, at run progress in [0, 1], after badValidations
    /// validations that did not improve: the <see cref="ScheduleRate"/> with warm-up applied.
    /// </summary>
    public double RateForNextStep(long stepsDone, double progress, int badValidations)
    {
        double lr = ScheduleRate(progress, badValidations);
        // Warm-up: step k (from 1) of the first Warmup steps takes k/Warmup of the scheduled rate.
        if (_warmup > 0) lr *= Math.Min(1.0, (stepsDone + 1) / (double)_warmup);
        return lr;
    }

    /// <summary>The schedule's own rate, before warm-up.</summary>
    public double ScheduleRate(double progress, int badValidations) => _kind switch
    {
        LrSchedule.Cosine => _lr * 0.5 * (1 + Math.Cos(Math.PI * progress)),
        LrSchedule.Plateau => _lr / Math.Pow(_decay, badValidations),
        _ => _lr,
    };
}
