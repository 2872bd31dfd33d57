using RnnLm.Nn;
using RnnLm.Training;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Training;

public class WeightAverageTests
{
    private static string Text => TrainerTests.Text;

    // A constant learning rate, so that a run of k steps is the first k steps of a longer run.
    private static TrainingOptions Small => TrainerTests.Small with { Steps = 8, ValidEvery = 4, Dropout = 0.1f };

    private static Checkpoint Last(string run) => Checkpoint.Load(Path.Combine(run, ModelDirectory.LastFile));
    private static Checkpoint Best(string run) => Checkpoint.Load(Path.Combine(run, ModelDirectory.BestFile));

    [Fact]
    public void TheAverageIsTheMeanOfTheAddedWeightsAndSwappingRestoresTheTrainedOnes()
    {
        // Tied through a projection: the shared table must be averaged once, under one name.
        using var model = new RecurrentLanguageModel(new ModelConfig(11, 4, 6, 1, TieWeights: true));
        var parameters = model.Parameters().ToList();
        var average = new WeightAverage(model);
        var snapshots = new List<float[][]>();
        var rng = new Rng(5);
        for (int step = 0; step < 3; step++)
        {
            foreach (var p in parameters)
                for (int i = 0; i < p.Length; i++) p.Value.Data[i] = rng.NextFloat() * 4 - 2;
            snapshots.Add(parameters.Select(p => (float[])p.Value.Data.Clone()).ToArray());
            average.Add();
        }
        Assert.Equal(3, average.Count);
        Assert.Equal(parameters.Count, average.Tensors().Count());
        Assert.Contains(average.Tensors(), t => t.Key == WeightAverage.NamePrefix + "embedding.weight");
        Assert.DoesNotContain(average.Tensors(), t => t.Key == WeightAverage.NamePrefix + "fc.weight");

        average.SwapIn();
        for (int k = 0; k < parameters.Count; k++)
            for (int i = 0; i < parameters[k].Length; i++)
            {
                double mean = (snapshots[0][k][i] + (double)snapshots[1][k][i] + snapshots[2][k][i]) / 3;
                Assert.Equal(mean, parameters[k].Value.Data[i], 5);
            }
        Assert.Throws<InvalidOperationException>(() => average.Add());
        average.SwapOut();
        for (int k = 0; k < parameters.Count; k++)
            Assert.True(parameters[k].Value.Data.AsSpan().SequenceEqual(snapshots[2][k]), $"parameter {k} was not restored");
    }

    [Fact]
    public void AveragingLeavesTrainingUnchangedAndBestHoldsTheMeanOfTheLastSteps()
    {
        using var tmp = new CliRunner.TempDir();
        string plain = tmp.File("plain"), averaged = tmp.File("averaged");
        LanguageModel.Train(Text, null, Small, plain).Dispose();
        LanguageModel.Train(Text, null, Small with { Average = 0.5, ValidEvery = 100 }, averaged).Dispose();

        // The trained weights are bit-identical to a run without averaging.
        var lastPlain = Last(plain);
        var lastAveraged = Last(averaged);
        foreach (var (name, values) in lastPlain.Parameters)
            Assert.True(values.AsSpan().SequenceEqual(lastAveraged.Parameters[name]), $"{name} changed when averaging");
        // Steps 4..8 of 8 are the last half of the run.
        Assert.Equal(5, lastAveraged.Header.AveragedSteps);

        // The average is the mean of the weights after steps 4, 5, 6, 7 and 8 (runs of that many steps).
        var ends = Enumerable.Range(4, 5).Select(k =>
        {
            string run = tmp.File($"steps{k}");
            LanguageModel.Train(Text, null, Small with { Steps = k }, run).Dispose();
            return Last(run).Parameters;
        }).ToList();
        // Validation scored both; best.ckpt holds whichever was better, and the metrics say which.
        var validLine = File.ReadLines(Path.Combine(averaged, ModelDirectory.MetricsFile))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).Last(e => e.GetProperty("kind").GetString() == "valid");
        double trainedPpl = validLine.GetProperty("valid_ppl_trained").GetDouble(), averagedPpl = validLine.GetProperty("valid_ppl_averaged").GetDouble();
        Assert.Equal(Math.Min(trainedPpl, averagedPpl), validLine.GetProperty("valid_ppl").GetDouble(), 9);
        Assert.Equal(5, validLine.GetProperty("averaged_steps").GetInt64());
        bool bestIsAverage = averagedPpl < trainedPpl;
        var best = Best(averaged);
        Assert.Equal(lastAveraged.Header.OptimizerSteps, best.Header.OptimizerSteps);
        foreach (var (name, values) in lastPlain.Parameters)
        {
            if (!lastAveraged.Parameters.TryGetValue(WeightAverage.NamePrefix + name, out var mean)) continue; // the tied name
            for (int i = 0; i < values.Length; i++)
            {
                double want = ends.Average(e => (double)e[name][i]);
                Assert.Equal(want, mean[i], 5);
                Assert.Equal(bestIsAverage ? mean[i] : values[i], best.Parameters[name][i]);
            }
        }
        Assert.DoesNotContain("valid_ppl_trained", File.ReadAllText(Path.Combine(plain, ModelDirectory.MetricsFile)));
    }

    [Fact]
    public void ARunStoppedWhileAveragingAndResumedEndsWithTheSameAverage()
    {
        using var tmp = new CliRunner.TempDir();
        string straight = tmp.File("straight"), resumed = tmp.File("resumed");
        var options = Small with { Average = 0.5, Steps = 10, ValidEvery = 100 };
        LanguageModel.Train(Text, null, options, straight).Dispose();
        using (var cancel = new CancellationTokenSource())
        {
            LanguageModel.Train(Text, null, options, resumed,
                progress: p => { if (p.Step == 7) cancel.Cancel(); }, cancel: cancel.Token).Dispose();
        }
        Assert.Equal(7, Last(resumed).Header.OptimizerSteps);
        Assert.Equal(3, Last(resumed).Header.AveragedSteps);
        LanguageModel.Train(Text, null, options, resumed, resume: true).Dispose();

        var a = Last(straight);
        var b = Last(resumed);
        Assert.Equal(10, b.Header.OptimizerSteps);
        Assert.Equal(6, b.Header.AveragedSteps);
        Assert.Equal(a.Parameters.Keys.Order(), b.Parameters.Keys.Order());
        foreach (var (name, values) in a.Parameters)
            Assert.True(values.AsSpan().SequenceEqual(b.Parameters[name]), $"{name} differs after stop and resume");
    }

    [Fact]
    public void AnAverageFractionOutsideZeroToOneIsRejected()
    {
        Assert.Throws<ArgumentException>(() => (Small with { Average = -0.1 }).Validate());
        Assert.Throws<ArgumentException>(() => (Small with { Average = 1.5 }).Validate());
        Assert.Throws<ArgumentException>(() => (Small with { Average = double.NaN }).Validate());
        (Small with { Average = 1 }).Validate();
    }
}
