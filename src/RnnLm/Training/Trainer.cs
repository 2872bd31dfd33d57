using System.Diagnostics;
using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Training;

/// <summary>
/// The training loop: mini-batches from a DataLoader, forward and backward, clipping, AdamW at the rate the
/// <see cref="LearningRateSchedule"/> gives; validation and checkpoints (last.ckpt every validation, best.ckpt when
/// validation improves); metrics to an <see cref="IMetricsSink"/> (by default metrics.jsonl in the output folder).
/// A run resumed from last.ckpt ends with the same weights as one that never stopped (except under a time-based
/// schedule, which depends on the clock).
/// With TrainingOptions.Average, the weights of the run's last part are averaged; validation picks the better of
/// the average and the trained weights for best.ckpt, and the trained weights go on unchanged.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly RecurrentLanguageModel _model;
    private readonly AdamW _optimizer;
    private readonly Tokenizer _tokenizer;
    private readonly BatchDataset _train;
    private readonly BatchDataset? _valid;
    private readonly TrainingOptions _options;
    private readonly string _outDir;
    private readonly WeightAverage? _average;
    private readonly LearningRateSchedule _schedule;
    private readonly IMetricsSink _metrics;
    private CheckpointHeader _state;
    private float[] _carried, _next;
    private bool _carriedValid;
    private double _lossSinceLog;
    private int _stepsSinceLog;

    /// <summary>Write the mean training loss to the metrics every this many steps.</summary>
    public int LogEvery { get; init; } = 10;

    public Trainer(RecurrentLanguageModel model, Tokenizer tokenizer, BatchDataset train, BatchDataset? valid,
        TrainingOptions options, string outDir, Checkpoint? resumeFrom = null, IMetricsSink? metrics = null)
    {
        _model = model;
        _tokenizer = tokenizer;
        _train = train;
        _valid = valid;
        _options = options;
        _outDir = outDir;
        _metrics = metrics ?? new JsonlMetricsSink(outDir);
        _schedule = new LearningRateSchedule(options);
        _optimizer = new AdamW(model.Parameters(), options.Lr, weightDecay: options.WeightDecay, threads: options.Threads);
        _state = new CheckpointHeader { Model = model.Config, Training = options, LearningRate = options.Lr };
        int stateLen = model.StateLength(train.MaxBatchSize);
        _carried = new float[stateLen];
        _next = new float[stateLen];
        if (options.Average > 0) _average = new WeightAverage(model);
        // Every run, new or resumed: an earlier one in this folder may have been killed in a checkpoint write.
        ModelDirectory.RemoveStaleTemporaryFiles(outDir);
        if (resumeFrom != null)
        {
            _metrics.ResumeAt(resumeFrom.Header.OptimizerSteps);
            _state = resumeFrom.Header with { Training = options };
            resumeFrom.RestoreOptimizer(_optimizer);
            try { _average?.Restore(resumeFrom.Parameters, resumeFrom.Header.AveragedSteps); }
            catch (InvalidDataException e) { throw new CheckpointException(resumeFrom.FilePath ?? "checkpoint", e.Message, e); }
            if (resumeFrom.CarriedState.Length == stateLen)
            {
                resumeFrom.CarriedState.CopyTo(_carried, 0);
                _carriedValid = true;
            }
        }
        model.Reserve(train.MaxBatchSize, train.MaxSeqLen);
    }

    public RecurrentLanguageModel Model => _model;
    public AdamW Optimizer => _optimizer;
    public CheckpointHeader State => _state;

    /// <summary>Called after every step, and after every validation with ValidLoss set.</summary>
    public Action<TrainingProgress>? Progress { get; set; }

    /// <summary>Trains until the epochs, steps or minutes of the options are used up, or until cancelled.</summary>
    public CheckpointHeader Run(CancellationToken cancel = default)
    {
        var loader = new DataLoader(_train);
        var clock = new RunClock(_state);
        bool validatedHere = false;
        bool stop = false;
        _model.Train();
        while (!stop && _state.Epoch < _options.EpochLimit())
        {
            foreach (var batch in loader.Batches(_state.Epoch, _state.BatchIndex))
            {
                Step(batch, clock);
                validatedHere = false;
                if (_options.ValidEvery > 0 && _optimizer.StepCount % _options.ValidEvery == 0)
                {
                    ValidateAndSave(cancel);
                    validatedHere = true;
                }
                if (cancel.IsCancellationRequested || BoundReached(clock.Elapsed))
                {
                    stop = true;
                    break;
                }
            }
            if (!stop)
            {
                EndEpoch();
                // With --valid-every, validation follows the step count only (fewer pauses in a long run).
                if (_options.ValidEvery == 0)
                {
                    ValidateAndSave(cancel);
                    validatedHere = true;
                }
            }
        }
        if (!validatedHere) ValidateAndSave(cancel);
        return _state;
    }

    /// <summary>The run's time: seconds of the earlier sessions of a resumed run plus this one's.</summary>
    private sealed class RunClock(CheckpointHeader start)
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        public long StartTokens { get; } = start.TokensSeen;
        public double Elapsed => start.ElapsedSeconds + _watch.Elapsed.TotalSeconds;
        public double SessionSeconds => _watch.Elapsed.TotalSeconds;
    }

    /// <summary>One optimiser step on a batch: forward and backward, clipping, AdamW, the average; then the state and metrics.</summary>
    private void Step(Batch batch, RunClock clock)
    {
        int bs = batch.BatchSize, stateLen = _model.StateLength(bs);
        bool carry = !batch.ResetState && _carriedValid && stateLen == _carried.Length;
        _optimizer.LearningRate = _schedule.RateForNextStep(_optimizer.StepCount, RunProgress(clock.Elapsed), _state.BadValidations);
        _optimizer.ZeroGrad();
        float loss = _model.ForwardBackward(batch.InputSpan, batch.TargetSpan, bs, batch.SeqLen,
            carry ? _carried : default, stateLen == _next.Length ? _next : default);
        if (!float.IsFinite(loss))
            throw new TrainingDivergedException(
                $"the training loss became {loss} at step {_optimizer.StepCount + 1} (epoch {_state.Epoch + 1}, batch {batch.Index + 1}); " +
                "the last good checkpoint is kept. Try a lower --lr or --clip 0.25.");
        if (_options.Clip > 0) GradientClipping.ClipByGlobalNorm(_optimizer.Parameters, _options.Clip);
        _optimizer.Step();
        if (_average != null && RunProgress(clock.Elapsed) >= 1 - _options.Average) _average.Add();
        (_carried, _next) = (_next, _carried);
        _carriedValid = !batch.ResetState && stateLen == _carried.Length;
        _state = _state with
        {
            OptimizerSteps = _optimizer.StepCount,
            LearningRate = _optimizer.LearningRate,
            BatchIndex = batch.Index + 1,
            TokensSeen = _state.TokensSeen + batch.TokenCount,
            ElapsedSeconds = clock.Elapsed,
            AveragedSteps = _average?.Count ?? 0,
        };
        _lossSinceLog += loss;
        if (++_stepsSinceLog >= LogEvery) WriteTrainLoss();
        double secs = clock.SessionSeconds;
        Progress?.Invoke(new TrainingProgress(_optimizer.StepCount, _state.Epoch, _state.BatchIndex, _train.BatchCount, loss,
            _optimizer.LearningRate, _state.TokensSeen, _state.ElapsedSeconds, secs > 0 ? (_state.TokensSeen - clock.StartTokens) / secs : 0)
            { Fraction = RunProgress(_state.ElapsedSeconds) });
    }

    /// <summary>Whether the options' step or time bound is reached (the epoch bound is the loop's).</summary>
    private bool BoundReached(double elapsed) =>
        (_options.Steps is long maxSteps && _optimizer.StepCount >= maxSteps)
        || (_options.Minutes is double minutes && elapsed >= minutes * 60);

    /// <summary>The epoch is done: the next one starts at its first batch, from a zero state.</summary>
    private void EndEpoch()
    {
        _state = _state with { Epoch = _state.Epoch + 1, BatchIndex = 0 };
        _carriedValid = false;
        Array.Clear(_carried);
    }

    /// <summary>How far the run is, in [0, 1]: the largest of its epochs, steps and minutes used up so far.</summary>
    private double RunProgress(double elapsed)
    {
        double progress = (double)_optimizer.StepCount / ((double)_options.EpochLimit() * _train.BatchCount);
        if (_options.Steps is long s) progress = Math.Max(progress, (double)_optimizer.StepCount / s);
        if (_options.Minutes is double m) progress = Math.Max(progress, elapsed / (m * 60));
        return Math.Min(1, progress);
    }

    private void WriteTrainLoss()
    {
        if (_stepsSinceLog == 0) return;
        _metrics.Write(new TrainMetrics(_optimizer.StepCount, _state.Epoch, _state.ElapsedSeconds, _state.TokensSeen,
            _optimizer.LearningRate, _lossSinceLog / _stepsSinceLog));
        _lossSinceLog = 0;
        _stepsSinceLog = 0;
    }

    /// <summary>The validation losses: the one that counts (the better of trained and averaged), and each.</summary>
    private readonly record struct Validation(double? Loss, double? Trained, double? Averaged, bool UseAverage);

    /// <summary>
    /// Validates, then writes last.ckpt, best.ckpt when the validation loss improved, and a metrics line. Once the
    /// weight average has begun, both the trained and the averaged weights are validated, and the better of the two
    /// counts (and goes to best.ckpt); without validation data the average does. last.ckpt holds the trained
    /// weights and the average.
    /// </summary>
    private void ValidateAndSave(CancellationToken cancel)
    {
        bool averaged = _average is { Count: > 0 };
        Validation v;
        try
        {
            v = Validate(averaged, cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // Stopped: the validation is dropped, not waited for; last.ckpt is still written, best.ckpt left as it was.
            SaveLast(averaged);
            WriteTrainLoss();
            return;
        }
        bool best = false;
        if (v.Loss is double loss)
        {
            if (!double.IsFinite(loss))
                throw new TrainingDivergedException($"the validation loss became {loss} at step {_optimizer.StepCount}; the last good checkpoint is kept.");
            best = loss < _state.BestValidLoss;
            _state = _state with
            {
                ValidLoss = loss,
                BestValidLoss = best ? loss : _state.BestValidLoss,
                BadValidations = best ? _state.BadValidations : _state.BadValidations + 1,
            };
        }
        var ckpt = SaveLast(averaged);
        if (best || _valid == null) SaveBest(ckpt, v.UseAverage);
        WriteTrainLoss();
        _metrics.Write(new ValidationMetrics(_optimizer.StepCount, _state.Epoch, _state.ElapsedSeconds, _state.TokensSeen,
            _optimizer.LearningRate, v.Loss, best)
        {
            AveragedSteps = _average?.Count,
            ValidLossTrained = v.Trained,
            ValidLossAveraged = v.Averaged,
        });
        Progress?.Invoke(new TrainingProgress(_optimizer.StepCount, _state.Epoch, _state.BatchIndex, _train.BatchCount, double.NaN,
            _optimizer.LearningRate, _state.TokensSeen, _state.ElapsedSeconds, 0, v.Loss, best) { Fraction = RunProgress(_state.ElapsedSeconds) });
    }

    /// <summary>
    /// The validation losses of the trained weights and, once the average has begun, of the averaged ones; none
    /// without validation data (then the average, if any, is used).
    /// </summary>
    private Validation Validate(bool averaged, CancellationToken cancel)
    {
        if (_valid == null) return new Validation(null, null, null, averaged);
        double trained = Evaluator.Evaluate(_model, _valid, cancel).MeanLoss;
        if (!averaged) return new Validation(trained, trained, null, false);
        double average = _average!.WithAverage(() => Evaluator.Evaluate(_model, _valid, cancel).MeanLoss);
        bool useAverage = average < trained;
        return new Validation(useAverage ? average : trained, trained, average, useAverage);
    }

    /// <summary>Writes best.ckpt, the model to use: the trained weights of last, or the averaged ones.</summary>
    private void SaveBest(Checkpoint last, bool useAverage)
    {
        // With the average, the optimiser state saved beside the averaged weights is the trained weights'.
        var ckpt = useAverage
            ? _average!.WithAverage(() => Checkpoint.Capture(_model, _tokenizer, _state, _optimizer, _carriedValid ? _carried : default))
            : last;
        ckpt.Save(Path.Combine(_outDir, ModelDirectory.BestFile));
    }

    /// <summary>Writes last.ckpt: the trained weights, the optimiser, the carried state and the running average.</summary>
    private Checkpoint SaveLast(bool averaged)
    {
        Directory.CreateDirectory(_outDir);
        var ckpt = Checkpoint.Capture(_model, _tokenizer, _state, _optimizer, _carriedValid ? _carried : default);
        if (averaged)
            foreach (var (name, values) in _average!.Tensors()) ckpt.Parameters[name] = values;
        ckpt.Save(Path.Combine(_outDir, ModelDirectory.LastFile));
        return ckpt;
    }

    /// <summary>Stops the optimiser's worker thread (the model is the caller's).</summary>
    public void Dispose() => _optimizer.Dispose();
}
