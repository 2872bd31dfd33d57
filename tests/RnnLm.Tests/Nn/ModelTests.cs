using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Tests.Nn;

public class ModelTests
{
    private static RecurrentLanguageModel NewModel(int vocab, int emb, int hidden, int layers, int threads, ulong seed = 42)
    {
        var model = new RecurrentLanguageModel(new ModelConfig(vocab, emb, hidden, layers), threads);
        Initialization.Apply(model, InitScheme.Book, new Rng(seed));
        return model;
    }

    private static (int[] inputs, int[] targets) RandomBatch(Rng rng, int vocab, int batch, int steps)
    {
        var x = new int[batch * steps];
        var y = new int[batch * steps];
        for (int i = 0; i < x.Length; i++) { x[i] = 1 + rng.NextInt(vocab - 1); y[i] = 1 + rng.NextInt(vocab - 1); }
        // right padding on the last row, as the sentence loader makes it
        for (int t = steps / 2; t < steps; t++) { x[(batch - 1) * steps + t] = 0; y[(batch - 1) * steps + t] = 0; }
        return (x, y);
    }

    private static void TrainSteps(RecurrentLanguageModel model, Optimizer opt, int vocab, int batch, int steps, int n, ulong dataSeed)
    {
        var rng = new Rng(dataSeed);
        for (int s = 0; s < n; s++)
        {
            var (x, y) = RandomBatch(rng, vocab, batch, steps);
            opt.ZeroGrad();
            model.ForwardBackward(x, y, batch, steps);
            GradientClipping.ClipByGlobalNorm(opt.Parameters, 1.0);
            opt.Step();
        }
    }

    [Fact]
    public void OneSeedGivesBitIdenticalWeightsOnOneAndTwoThreads()
    {
        const int vocab = 301, batch = 37, steps = 13;
        using var m1 = NewModel(vocab, 48, 40, 2, threads: 1);
        using var m2 = NewModel(vocab, 48, 40, 2, threads: 2);
        TrainSteps(m1, new AdamW(m1.Parameters()), vocab, batch, steps, 5, dataSeed: 1);
        TrainSteps(m2, new AdamW(m2.Parameters()), vocab, batch, steps, 5, dataSeed: 1);
        foreach (var ((name, p1), (_, p2)) in m1.NamedParameters().Zip(m2.NamedParameters()))
            Assert.True(p1.Value.Data.AsSpan().SequenceEqual(p2.Value.Data), $"{name} differs between 1 and 2 threads");
    }

    [Fact]
    public void ADifferentSeedGivesDifferentWeights()
    {
        using var a = NewModel(50, 8, 8, 1, 1, seed: 1);
        using var b = NewModel(50, 8, 8, 1, 1, seed: 2);
        Assert.False(a.Fc.Weight.Value.Data.AsSpan().SequenceEqual(b.Fc.Weight.Value.Data));
        Assert.True(a.Embedding.Weight.Value.Data.AsSpan(0, 8).SequenceEqual(new float[8]), "padding row must start at zero");
    }

    [Fact]
    public void AllTargetsIgnoredGivesZeroLossAndZeroGradient()
    {
        using var model = NewModel(20, 4, 4, 1, 1);
        model.ZeroGrad();
        float loss = model.ForwardBackward([3, 4, 5, 6], [0, 0, 0, 0], 2, 2);
        Assert.Equal(0f, loss);
        Assert.All(model.Parameters(), p => Assert.True(p.Grad.Data.All(g => g == 0)));
    }

    [Fact]
    public void BadInputNamesTheArgumentAndValue()
    {
        var e = Assert.Throws<ArgumentException>(() => new ModelConfig(0, 4, 4, 1).Validate());
        Assert.Contains("VocabSize", e.Message); Assert.Contains("0", e.Message);
        e = Assert.Throws<ArgumentException>(() => new RecurrentLanguageModel(new ModelConfig(10, 4, 4, 1, PadIndex: 10)));
        Assert.Contains("PadIndex", e.Message); Assert.Contains("10", e.Message);
        e = Assert.Throws<ArgumentException>(() => new ModelConfig(10, 4, -3, 1).Validate());
        Assert.Contains("HiddenDim", e.Message); Assert.Contains("-3", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Embedding(5, 2, paddingIndex: -1));
        Assert.Contains("paddingIndex", e.Message); Assert.Contains("-1", e.Message);

        using var model = NewModel(10, 4, 4, 1, 1);
        e = Assert.Throws<ArgumentException>(() => model.ForwardBackward([1, 2, 12, 3], [1, 2, 3, 4], 2, 2));
        Assert.Contains("12", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.ForwardBackward([1, 2, 3, 3], [1, 2, -1, 4], 2, 2));
        Assert.Contains("-1", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.ForwardBackward([1, 2, 3], [1, 2, 3], 2, 2));
        Assert.Equal("inputs", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.ForwardBackward([1, 2, 3, 4], [1, 2, 3, 4], 2, 2, h0: new float[3]));
        Assert.Equal("h0", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.ForwardBackward([1, 2, 3, 4], [1, 2, 3, 4], 0, 4));
        Assert.Equal("batch", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new AdamW(model.Parameters(), learningRate: -1));
        Assert.Contains("-1", e.Message);
    }

    [Fact]
    public void GenerationStepsMatchTheWholeSequenceForward()
    {
        const int vocab = 17, steps = 5;
        using var model = NewModel(vocab, 6, 7, 2, 1);
        int[] ids = [3, 9, 1, 16, 4];
        var logits = new float[steps * vocab];
        model.Forward(ids, 1, steps, logits);
        var state = new float[model.StateLength(1)];
        var stepLogits = new float[vocab];
        for (int t = 0; t < steps; t++)
        {
            model.Step(ids.AsSpan(t, 1), state, stepLogits);
            for (int v = 0; v < vocab; v++)
                Assert.True(Math.Abs(logits[t * vocab + v] - stepLogits[v]) <= 1e-5f, $"step {t}, token {v}: {stepLogits[v]} vs {logits[t * vocab + v]}");
        }
    }
}
