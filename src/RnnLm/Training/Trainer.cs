using System.Diagnostics;
using System.Text.Json;
using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Training;

/// <summary>
/// The training loop: mini-batches from a DataLoader, forward and backward, clipping, the learning-rate schedule,
/// AdamW; validation and checkpoints (last.ckpt every validation, best.ckpt when validation improves) and
/// metrics as JSON lines in the output folder. A run resumed from last.ckpt ends with the same weights as one
/// that never stopped (except under a time-based schedule, which depends on the clock).
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
    private CheckpointHeader _state;
    private float[] _carried, _next;
    private bool _carriedValid;
    private double _lossSinceLog;
    private int _stepsSinceLog;

    /// <summary>Write the mean training loss to the metrics every this many steps.</summary>
    public int LogEvery { get; init; } = 10;

    public Trainer(RecurrentLanguageModel model, Tokenizer tokenizer, BatchDataset train, BatchDataset? valid,
        TrainingOptions options, string outDir, Checkpoint? resumeFrom = null)
    {
        _model = model;
        _tokenizer = tokenizer;
        _train = train;
        _valid = valid;
        _options = options;
        _outDir = outDir;
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
            ModelDirectory.CutMetricsTo(outDir, resumeFrom.Header.OptimizerSteps);
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
        var clock = Stopwatch.StartNew();
        double startElapsed = _state.ElapsedSeconds;
        long startTokens = _state.TokensSeen;
        double Elapsed() => startElapsed + clock.Elapsed.TotalSeconds;
        bool validatedHere = false;
        bool stop = false;
        _model.Train();
        while (!stop && _state.Epoch < _options.EpochLimit())
        {
            foreach (var batch in loader.Batches(_state.Epoch, _state.BatchIndex))
            {
                int bs = batch.BatchSize, stateLen = _model.StateLength(bs);
                bool carry = !batch.ResetState && _carriedValid && stateLen == _carried.Length;
                _optimizer.LearningRate = ScheduledLr(Elapsed());
                _optimizer.ZeroGrad();
                float loss = _model.ForwardBackward(batch.InputSpan, batch.TargetSpan, bs, batch.SeqLen,
                    carry ? _carried : default, stateLen == _next.Length ? _next : default);
                if (!float.IsFinite(loss))
                    throw new TrainingDivergedException(
                        $"the training loss became {loss} at step {_optimizer.StepCount + 1} (epoch {_state.Epoch + 1}, batch {batch.Index + 1}); " +
                        "the last good checkpoint is kept. Try a lower --lr or --clip 0.25.");
                if (_options.Clip > 0) GradientClipping.ClipByGlobalNorm(_optimizer.Parameters, _options.Clip);
                _optimizer.Step();
                if (_average != null && RunProgress(Elapsed()) >= 1 - _options.Average) _average.Add();
                (_carried, _next) = (_next, _carried);
                _carriedValid = !batch.ResetState && stateLen == _carried.Length;
                _state = _state with
                {
                    OptimizerSteps = _optimizer.StepCount,
                    LearningRate = _optimizer.LearningRate,
                    BatchIndex = batch.Index + 1,
                    TokensSeen = _state.TokensSeen + batch.TokenCount,
                    ElapsedSeconds = Elapsed(),
                    AveragedSteps = _average?.Count ?? 0,
                };
                validatedHere = false;
                _lossSinceLog += loss;
                if (++_stepsSinceLog >= LogEvery) WriteTrainLoss();
                double secs = clock.Elapsed.TotalSeconds;
                Progress?.Invoke(new TrainingProgress(_optimizer.StepCount, _state.Epoch, _state.BatchIndex, _train.BatchCount, loss,
                    _optimizer.LearningRate, _state.TokensSeen, _state.ElapsedSeconds, secs > 0 ? (_state.TokensSeen - startTokens) / secs : 0)
                    { Fraction = RunProgress(_state.ElapsedSeconds) });
                if (_options.ValidEvery > 0 && _optimizer.StepCount % _options.ValidEvery == 0)
                {
                    ValidateAndSave(cancel);
                    validatedHere = true;
                }
                if (cancel.IsCancellationRequested
                    || (_options.Steps is long maxSteps && _optimizer.StepCount >= maxSteps)
                    || (_options.Minutes is double minutes && Elapsed() >= minutes * 60))
                {
                    stop = true;
                    break;
                }
            }
            if (!stop)
            {
                // The epoch is done: the next one starts at its first batch, from a zero state.
                _state = _state with { Epoch = _state.Epoch + 1, BatchIndex = 0 };
                _carriedValid = false;
                Array.Clear(_carried);
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

    private double ScheduledLr(double elapsed)
    {
        double lr = ScheduleLr(elapsed);
        // Warm-up: step k (from 1) of the first Warmup steps takes k/Warmup of the scheduled rate.
        if (_options.Warmup > 0) lr *= Math.Min(1.0, (_optimizer.StepCount + 1) / (double)_options.Warmup);
        return lr;
    }

    private double ScheduleLr(double elapsed)
    {
        switch (_options.Schedule)
        {
            case LrSchedule.Cosine:
                return _options.Lr * 0.5 * (1 + Math.Cos(Math.PI * RunProgress(elapsed)));
            case LrSchedule.Plateau:
                return _options.Lr / Math.Pow(_options.LrDecay, _state.BadValidations);
            default:
                return _options.Lr;
        }
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
        AppendMetrics(new Dictionary<string, object?>
        {
            ["kind"] = "train",
            ["step"] = _optimizer.StepCount,
            ["epoch"] = _state.Epoch,
            ["elapsed_s"] = Math.Round(_state.ElapsedSeconds, 2),
            ["tokens"] = _state.TokensSeen,
            ["lr"] = _optimizer.LearningRate,
            ["train_loss"] = Math.Round(_lossSinceLog / _stepsSinceLog, 5),
        });
        _lossSinceLog = 0;
        _stepsSinceLog = 0;
    }

    private void AppendMetrics(Dictionary<string, object?> line)
    {
        Directory.CreateDirectory(_outDir);
        File.AppendAllText(Path.Combine(_outDir, ModelDirectory.MetricsFile), JsonSerializer.Serialize(line) + "\n");
    }

    /// <summary>
    /// Validates, then writes last.ckpt, best.ckpt when the validation loss improved, and a metrics line. Once the
    /// weight average has begun, both the trained and the averaged weights are validated, and the better of the two
    /// counts (and goes to best.ckpt); without validation data the average does. last.ckpt holds the trained
    /// weights and the average.
    /// </summary>
    private void ValidateAndSave(CancellationToken cancel)
    {
        double? valid = null, validTrained = null, validAveraged = null;
        bool best = false;
        bool averaged = _average is { Count: > 0 }, useAverage = averaged;
        if (_valid != null)
        {
            try
            {
                valid = validTrained = Evaluator.Evaluate(_model, _valid, cancel).MeanLoss;
                if (averaged)
                {
                    validAveraged = _average!.WithAverage(() => Evaluator.Evaluate(_model, _valid, cancel).MeanLoss);
                    useAverage = validAveraged < validTrained;
                    if (useAverage) valid = validAveraged;
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // Stopped: the validation is dropped, not waited for; last.ckpt is still written, best.ckpt left as it was.
                SaveLast(averaged);
                WriteTrainLoss();
                return;
            }
            if (!double.IsFinite(valid.Value))
                throw new TrainingDivergedException($"the validation loss became {valid} at step {_optimizer.StepCount}; the last good checkpoint is kept.");
            best = valid.Value < _state.BestValidLoss;
            _state = _state with
            {
                ValidLoss = valid,
                BestValidLoss = best ? valid.Value : _state.BestValidLoss,
                BadValidations = best ? _state.BadValidations : _state.BadValidations + 1,
            };
        }
        var ckpt = SaveLast(averaged);
        if (best || _valid == null)
        {
            if (useAverage)
            {
                // best.ckpt is the model to use: here the averaged weights (its optimiser state is the trained weights').
                ckpt = _average!.WithAverage(() => Checkpoint.Capture(_model, _tokenizer, _state, _optimizer, _carriedValid ? _carried : default));
            }
            ckpt.Save(Path.Combine(_outDir, ModelDirectory.BestFile));
        }
        WriteTrainLoss();
        var line = new Dictionary<string, object?>
        {
            ["kind"] = "valid",
            ["step"] = _optimizer.StepCount,
            ["epoch"] = _state.Epoch,
            ["elapsed_s"] = Math.Round(_state.ElapsedSeconds, 2),
            ["tokens"] = _state.TokensSeen,
            ["lr"] = _optimizer.LearningRate,
            ["valid_loss"] = valid,
            ["valid_ppl"] = valid is double v ? Math.Exp(v) : null,
            ["best"] = best,
        };
        if (_average != null)
        {
            line["averaged_steps"] = _average.Count;
            line["valid_ppl_trained"] = validTrained is double vt ? Math.Exp(vt) : null;
            line["valid_ppl_averaged"] = validAveraged is double va ? Math.Exp(va) : null;
        }
        AppendMetrics(line);
        Progress?.Invoke(new TrainingProgress(_optimizer.StepCount, _state.Epoch, _state.BatchIndex, _train.BatchCount, double.NaN,
            _optimizer.LearningRate, _state.TokensSeen, _state.ElapsedSeconds, 0, valid, best) { Fraction = RunProgress(_state.ElapsedSeconds) });
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
