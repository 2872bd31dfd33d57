using RnnLm.Nn;
using RnnLm.Training;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Training;

public class MetricsSinkTests
{
    private sealed class Recorder : IMetricsSink
    {
        public readonly List<object> Records = new();
        public void ResumeAt(long step) => Records.Add(step);
        public void Write(TrainMetrics metrics) => Records.Add(metrics);
        public void Write(ValidationMetrics metrics) => Records.Add(metrics);
    }

    [Fact]
    public void ATrainerWritesToTheSinkItIsGivenAndNoMetricsFile()
    {
        using var tmp = new CliRunner.TempDir();
        string run = tmp.File("run");
        var o = TrainerTests.Small with { Steps = 6, ValidEvery = 3 };
        using var data = TrainingData.Build(o, TrainerTests.Text, null);
        using var model = new RecurrentLanguageModel(o.ModelConfig(data.Tokenizer.VocabSize, data.Tokenizer.PadId), o.Threads);
        Initialization.Apply(model, o.Init, new Rng((ulong)o.Seed), o.InitRange);
        var sink = new Recorder();
        using (var trainer = new Trainer(model, data.Tokenizer, data.Train, data.Valid, o, run, metrics: sink) { LogEvery = 2 })
            trainer.Run();
        Assert.False(File.Exists(Path.Combine(run, ModelDirectory.MetricsFile)));
        // The loss since the last record is written before each validation, so the count restarts there.
        Assert.Equal(["train 2", "train 3", "valid 3", "train 5", "train 6", "valid 6"], sink.Records.Select(r => r switch
        {
            TrainMetrics t => $"train {t.Step}",
            ValidationMetrics v => $"valid {v.Step}",
            _ => $"other {r}",
        }));
        Assert.All(sink.Records.OfType<ValidationMetrics>(), v => Assert.True(v.ValidLoss > 0));
    }

    [Fact]
    public void TheScheduleWarmsUpThenDecays()
    {
        var cosine = new LearningRateSchedule(new TrainingOptions { Lr = 1, Schedule = LrSchedule.Cosine, Warmup = 4 });
        Assert.Equal(0.25, cosine.RateForNextStep(0, 0, 0), 12);
        Assert.Equal(1, cosine.RateForNextStep(3, 0, 0), 12);
        Assert.Equal(0.5, cosine.RateForNextStep(10, 0.5, 0), 12);
        Assert.Equal(0, cosine.ScheduleRate(1, 0), 12);
        var plateau = new LearningRateSchedule(new TrainingOptions { Lr = 1, Schedule = LrSchedule.Plateau, LrDecay = 4 });
        Assert.Equal(1 / 16.0, plateau.RateForNextStep(100, 0.3, 2), 12);
    }
}
