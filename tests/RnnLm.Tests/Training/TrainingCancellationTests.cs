using RnnLm.Tests.Cli;
using RnnLm.Training;

namespace RnnLm.Tests.Training;

/// <summary>Stopping a run: a validation in progress is dropped, not waited for, and what was trained is saved.</summary>
public class TrainingCancellationTests
{
    /// <summary>Reports each step to an IProgress and cancels when step `at` is reported (just before its validation).</summary>
    private sealed class CancelAt(CancellationTokenSource cts, long at) : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Seen { get; } = [];

        public void Report(TrainingProgress value)
        {
            Seen.Add(value);
            if (value.ValidLoss == null && value.Step == at) cts.Cancel();
        }
    }

    [Fact]
    public void ACancelDuringAValidationDropsItAndSavesTheSteps()
    {
        using var tmp = new CliRunner.TempDir();
        using var cts = new CancellationTokenSource();
        var progress = new CancelAt(cts, 8);
        // Validation every 4 steps, on a validation set large enough to take many batches.
        var o = TrainerTests.Small with { Steps = 40, ValidEvery = 4, Data = null, ValidFraction = 0.5 };
        using (var lm = LanguageModel.Train(TrainerTests.Text, null, o, tmp.Path, progress: progress.Report, cancel: cts.Token))
            Assert.NotNull(lm);

        var last = Checkpoint.Load(Path.Combine(tmp.Path, ModelDirectory.LastFile)).Header;
        var best = Checkpoint.Load(Path.Combine(tmp.Path, ModelDirectory.BestFile)).Header;
        Assert.Equal(8, last.OptimizerSteps);           // the steps trained are kept
        Assert.Equal(4, best.OptimizerSteps);           // the validation at step 8 never finished
        Assert.Single(progress.Seen, p => p.ValidLoss != null);
        Assert.Equal(8, progress.Seen.Max(p => p.Step));
        Assert.All(progress.Seen, p => Assert.InRange(p.Fraction, 0, 1));

        // The run goes on from there as if nothing had happened.
        using var resumed = LanguageModel.Resume(tmp.Path, steps: 12);
        Assert.Equal(12, Checkpoint.Load(Path.Combine(tmp.Path, ModelDirectory.LastFile)).Header.OptimizerSteps);
    }

    [Fact]
    public void TheIProgressOverloadReportsEveryStepAndValidation()
    {
        using var tmp = new CliRunner.TempDir();
        string data = tmp.File("train.txt");
        File.WriteAllText(data, TrainerTests.Text);
        var progress = new CancelAt(new CancellationTokenSource(), -1);
        using var lm = LanguageModel.Train(TrainerTests.Small with { Data = data, Steps = 6, ValidEvery = 3 }, tmp.File("run"), progress);
        Assert.Equal([1, 2, 3, 3, 4, 5, 6, 6], progress.Seen.Select(p => p.Step));
        Assert.Equal(2, progress.Seen.Count(p => p.ValidLoss != null));
        Assert.Equal(1.0, progress.Seen[^1].Fraction);
    }
}
