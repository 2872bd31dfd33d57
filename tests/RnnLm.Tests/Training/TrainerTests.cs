using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Optim;
using RnnLm.Training;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Training;

public class TrainerTests
{
    internal static readonly string Text = string.Concat(Enumerable.Range(0, 300).Select(i => $"line {i % 17} of the text, word {i % 5}.\n"));

    internal static TrainingOptions Small => new()
    {
        Tokenizer = "char", Mode = DataMode.Stream, Layers = 1, Emb = 8, Hidden = 16, Ctx = 16, Batch = 4,
        Lr = 3e-3, Steps = 6, ValidEvery = 3, Threads = 1,
    };

    [Fact]
    public void ANonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpoint()
    {
        using var tmp = new CliRunner.TempDir();
        string run = tmp.File("run");
        LanguageModel.Train(Text, null, Small, run).Dispose();
        string last = Path.Combine(run, ModelDirectory.LastFile), best = Path.Combine(run, ModelDirectory.BestFile);

        // Poison the weights of the saved run, as a diverging step would, and continue it.
        var ckpt = Checkpoint.Load(last);
        ckpt.Parameters["fc.bias"][3] = float.NaN;
        ckpt.Save(last);
        byte[] lastBefore = File.ReadAllBytes(last), bestBefore = File.ReadAllBytes(best);

        var e = Assert.Throws<TrainingDivergedException>(() => LanguageModel.Train(Text, null, Small with { Steps = 12 }, run, resume: true));
        Assert.Contains("NaN", e.Message);
        Assert.Contains("checkpoint", e.Message);
        Assert.Equal(lastBefore, File.ReadAllBytes(last));
        Assert.Equal(bestBefore, File.ReadAllBytes(best));
    }

    [Fact]
    public void WarmUpRaisesTheLearningRateLinearlyThenFollowsTheSchedule()
    {
        using var tmp = new CliRunner.TempDir();
        var rates = new List<(long Step, double Lr)>();
        LanguageModel.Train(Text, null, Small with { Warmup = 4, Steps = 8, ValidEvery = 100, Lr = 2e-3 }, tmp.File("run"),
            progress: p => { if (p.ValidLoss == null) rates.Add((p.Step, p.LearningRate)); }).Dispose();
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), rates.Select(r => r.Step));
        double[] want = [0.5e-3, 1e-3, 1.5e-3, 2e-3, 2e-3, 2e-3, 2e-3, 2e-3];
        for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], rates[i].Lr, 12);
        Assert.Throws<ArgumentException>(() => (Small with { Warmup = -1 }).Validate());
    }

    [Fact]
    public void ValidEveryValidatesOnTheStepCountOnlyAndZeroAtEachEpochEnd()
    {
        using var tmp = new CliRunner.TempDir();
        List<long> ValidationSteps(TrainingOptions o, string run)
        {
            var steps = new List<long>();
            LanguageModel.Train(Text, null, o, tmp.File(run), progress: p => { if (p.ValidLoss != null) steps.Add(p.Step); }).Dispose();
            return steps;
        }
        var byEpoch = ValidationSteps(Small with { Steps = null, Epochs = 3, ValidEvery = 0 }, "epochs");
        Assert.Equal(3, byEpoch.Count);
        long epoch = byEpoch[0];
        Assert.Equal([epoch, 2 * epoch, 3 * epoch], byEpoch);

        var byStep = ValidationSteps(Small with { Steps = null, Epochs = 3, ValidEvery = 50 }, "steps");
        var want = Enumerable.Range(1, (int)(3 * epoch / 50)).Select(i => 50L * i).ToList();
        if (3 * epoch % 50 != 0) want.Add(3 * epoch); // the end of the run
        Assert.Equal(want, byStep);
    }

    [Fact]
    public void StepsOrMinutesAloneRunPastTheFirstEpochAndEpochsStillBound()
    {
        using var tmp = new CliRunner.TempDir();
        int epochLength = 0;
        (long Steps, int Epoch) Run(TrainingOptions o, string name)
        {
            long steps = 0;
            int epochs = 0;
            LanguageModel.Train(Text, null, o, tmp.File(name), progress: p =>
            {
                steps = p.Step;
                epochs = Math.Max(epochs, p.Epoch);
                epochLength = p.BatchesPerEpoch;
            }).Dispose();
            return (steps, epochs);
        }
        var one = Run(Small with { Steps = null, ValidEvery = 0 }, "default");
        Assert.Equal(epochLength, one.Steps); // no bound given: one epoch, as before
        var bySteps = Run(Small with { Steps = 2 * epochLength + 5, ValidEvery = 0 }, "steps");
        Assert.Equal(2 * epochLength + 5, bySteps.Steps);
        var byMinutes = Run(Small with { Steps = null, Minutes = 0.04, ValidEvery = 0 }, "minutes");
        Assert.True(byMinutes.Steps > epochLength, $"--minutes alone stopped after {byMinutes.Steps} steps (an epoch is {epochLength})");
        var bounded = Run(Small with { Steps = 10 * epochLength, Epochs = 1, ValidEvery = 0 }, "both");
        Assert.Equal(epochLength, bounded.Steps); // the first bound reached wins
    }

    [Fact]
    public void AResumeAfterAKillRemovesStaleTemporaryFilesAndListsNoStepTwice()
    {
        using var tmp = new CliRunner.TempDir();
        string run = tmp.File("run");
        LanguageModel.Train(Text, null, Small, run).Dispose();
        // What a kill after step 6's checkpoint leaves: a checkpoint write cut short, metrics of steps trained since,
        // and a last line cut in the middle.
        string stale = Path.Combine(run, ".last.ckpt.424242.tmp");
        File.WriteAllBytes(stale, new byte[100]);
        string metrics = Path.Combine(run, ModelDirectory.MetricsFile);
        File.AppendAllText(metrics, "{\"kind\":\"train\",\"step\":7,\"train_loss\":1.0}\n{\"kind\":\"train\",\"step\":8,\"train_lo");
        LanguageModel.Train(Text, null, Small with { Steps = 9 }, run, resume: true).Dispose();
        Assert.False(File.Exists(stale), "the stale temporary checkpoint should be gone after the resume");
        var rows = File.ReadLines(metrics).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Select(e => (Kind: e.GetProperty("kind").GetString(), Step: e.GetProperty("step").GetInt64())).ToList();
        Assert.Equal(rows.Count, rows.Distinct().Count());
        Assert.Equal(9, rows.Where(r => r.Kind == "valid").Max(r => r.Step));
        Assert.DoesNotContain(rows, r => r.Kind == "train" && r.Step == 7 && rows.Count(x => x == r) > 1);
    }

    [Fact]
    public void SgdStepIsPlainGradientDescentWithDecay()
    {
        var p = new Parameter(3);
        p.Value.Data[0] = 1f; p.Value.Data[1] = -2f; p.Value.Data[2] = 0.5f;
        p.Grad.Data[0] = 0.5f; p.Grad.Data[1] = 1f; p.Grad.Data[2] = -4f;
        var sgd = new Sgd([p], learningRate: 0.1, weightDecay: 0.2);
        sgd.Step();
        // p ← p·(1 - lr·wd) - lr·g
        Assert.Equal(1f * 0.98f - 0.05f, p.Value.Data[0], 6);
        Assert.Equal(-2f * 0.98f - 0.1f, p.Value.Data[1], 6);
        Assert.Equal(0.5f * 0.98f + 0.4f, p.Value.Data[2], 6);
        Assert.Equal(1, sgd.StepCount);
    }

    [Fact]
    public void ClippingScalesTheGlobalNormDownToTheLimitOnly()
    {
        var a = new Parameter(2); var b = new Parameter(1);
        a.Grad.Data[0] = 3f; a.Grad.Data[1] = 0f; b.Grad.Data[0] = 4f; // norm 5
        double norm = GradientClipping.ClipByGlobalNorm([a, b], 1.0);
        Assert.Equal(5.0, norm, 6);
        Assert.Equal(1.0, GradientClipping.GlobalNorm([a, b]), 4);
        norm = GradientClipping.ClipByGlobalNorm([a, b], 10.0);
        Assert.Equal(1.0, GradientClipping.GlobalNorm([a, b]), 4); // under the limit: unchanged
    }

    [Fact]
    public void StreamEvaluationCarriesTheHiddenState()
    {
        // A model whose loss depends on context: evaluating with the state carried must differ from per-window zero states.
        var ids = Enumerable.Range(0, 2000).Select(i => 1 + (i * 7 % 11)).ToArray();
        var model = new RecurrentLanguageModel(new ModelConfig(12, 8, 16, 1));
        Initialization.Apply(model, InitScheme.Book, new Rng(3));
        var carried = Evaluator.Evaluate(model, new StreamDataset(ids, 2, 10));
        Assert.True(carried.Tokens > 1900, $"{carried.Tokens} tokens scored");
        // The same tokens as many independent sentences (each from a zero state).
        var lines = Enumerable.Range(0, ids.Length / 11).Select(k => ids.AsSpan(k * 11, 11).ToArray());
        var reset = Evaluator.Evaluate(model, new SentenceDataset(lines, 2, 10, shuffle: false));
        Assert.NotEqual(carried.MeanLoss, reset.MeanLoss, 3);
    }
}
