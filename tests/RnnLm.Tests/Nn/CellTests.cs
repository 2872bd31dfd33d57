using RnnLm.Nn;
using RnnLm.Optim;
using RnnLm.Tensors;

namespace RnnLm.Tests.Nn;

/// <summary>
/// The gated cells beside Elman: gradients against finite differences, the state carried across windows,
/// generation one step at a time against a whole-sequence forward, thread-count determinism and allocation.
/// </summary>
public class CellTests
{
    private readonly SgemmEngine _gemm = new(1);

    public static TheoryData<CellType> AllCells() => new(CellType.Elman, CellType.Gru, CellType.Lstm);
    public static TheoryData<CellType> GatedCells() => new(CellType.Gru, CellType.Lstm);

    private static float[] Random(Rng rng, int n, float scale = 1f) => GradientCheckTests.Random(rng, n, scale);
    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => GradientCheckTests.Dot(a, b);
    private static void CheckAgainstDifferences(float[] x, ReadOnlySpan<float> grad, Func<double> f, string what) =>
        GradientCheckTests.CheckAgainstDifferences(x, grad, f, what);

    [Theory]
    [InlineData(CellType.Gru, true)]
    [InlineData(CellType.Gru, false)]
    [InlineData(CellType.Lstm, true)]
    [InlineData(CellType.Lstm, false)]
    public void GatedLayerGradientsMatchFiniteDifferences(CellType cell, bool initialState)
    {
        int steps = 4, batch = 2, input = 3, hidden = 5;
        var rng = new Rng(17);
        using var layer = RecurrentStack.CreateLayer(cell, 0, input, hidden, 0f);
        foreach (var p in layer.Parameters()) Random(rng, p.Length, 0.6f).CopyTo(p.Value.Data, 0);
        var x = Random(rng, steps * batch * input);
        var s0 = initialState ? Random(rng, layer.StateLength(batch), 0.5f) : [];
        var w = Random(rng, steps * batch * hidden);
        var h = new float[w.Length];
        double F() { layer.Forward(_gemm, steps, batch, x, s0, h, default); return Dot(w, h); }

        F();
        var dh = (float[])w.Clone();
        var dx = new float[x.Length];
        var ds0 = new float[layer.StateLength(batch)];
        layer.ZeroGrad();
        layer.Backward(_gemm, steps, batch, x, s0, h, dh, dx, initialState ? ds0 : default);
        foreach (var (name, p) in layer.NamedParameters())
            CheckAgainstDifferences(p.Value.Data, p.Grad.Data, F, name);
        CheckAgainstDifferences(x, dx, F, "x");
        if (initialState) CheckAgainstDifferences(s0, ds0, F, "state0 (h0, then c0 for LSTM)");
    }

    [Theory]
    [MemberData(nameof(GatedCells))]
    public void GatedStackWithHiddenSizeUnlikeInput(CellType cell)
    {
        int steps = 3, batch = 2, input = 3, hidden = 4, layers = 3;
        var rng = new Rng(23);
        using var rnn = new RecurrentStack(input, hidden, layers, cell: cell);
        foreach (var p in rnn.Parameters()) Random(rng, p.Length, 0.6f).CopyTo(p.Value.Data, 0);
        var x = Random(rng, steps * batch * input);
        var s0 = Random(rng, rnn.StateLength(batch), 0.5f);
        var w = Random(rng, steps * batch * hidden);
        double F() { rnn.Forward(_gemm, steps, batch, x, s0, default); return Dot(w, rnn.Output); }

        F();
        var dx = new float[x.Length];
        rnn.ZeroGrad();
        rnn.Backward(_gemm, steps, batch, x, s0, w, dx);
        foreach (var (name, p) in rnn.NamedParameters())
            CheckAgainstDifferences(p.Value.Data, p.Grad.Data, F, name);
        CheckAgainstDifferences(x, dx, F, "x");
    }

    [Theory]
    [InlineData(CellType.Gru, 0f, 0f)]
    [InlineData(CellType.Lstm, 0f, 0f)]
    [InlineData(CellType.Gru, 0.3f, 0.4f)]   // dropout and weight drop: the same masks for every evaluation
    [InlineData(CellType.Lstm, 0.3f, 0.4f)]
    public void WholeModelWithPaddingStateDropoutAndWeightDrop(CellType cell, float dropout, float weightDropout)
    {
        var rng = new Rng(29);
        var cfg = new ModelConfig(VocabSize: 9, EmbDim: 3, HiddenDim: 4, NumLayers: 2, PadIndex: 0, Dropout: dropout,
            TieWeights: dropout == 0, WeightDropout: weightDropout, Cell: cell);
        using var model = new RecurrentLanguageModel(cfg);
        Initialization.Apply(model, InitScheme.SmallUniform, rng, 0.5f);
        int batch = 2, steps = 4;
        int[] inputs = [3, 5, 1, 0, 2, 8, 7, 4];
        int[] targets = [5, 1, 6, 0, 8, 7, 4, 2];
        var h0 = Random(rng, model.StateLength(batch), 0.3f);
        var rngState = model.DropoutRng.GetState();
        double F() { model.DropoutRng.SetState(rngState); return model.LossSum(inputs, targets, batch, steps, out int n, h0) / n; }
        model.ZeroGrad();
        model.DropoutRng.SetState(rngState);
        float loss = model.ForwardBackward(inputs, targets, batch, steps, h0);
        Assert.Equal(F(), loss, 5);
        var emb = model.Embedding.Weight;
        Assert.True(emb.Grad.Data.AsSpan(0, 3).SequenceEqual(new float[3]), "the padding row gets no gradient");
        foreach (var (name, p) in model.NamedParameters())
        {
            if (p == emb) continue; // its padding row is never learnt; the rest is checked through the tied head
            CheckAgainstDifferences(p.Value.Data, p.Grad.Data, F, name);
        }
    }

    [Theory]
    [MemberData(nameof(AllCells))]
    public void StateCarriedAcrossWindowsEqualsOneLongSequence(CellType cell)
    {
        const int vocab = 12, batch = 3, steps = 12, cut = 5;
        using var model = new RecurrentLanguageModel(new ModelConfig(vocab, 6, 7, 2, Cell: cell));
        Initialization.Apply(model, InitScheme.SmallUniform, new Rng(31), 0.4f);
        model.Eval();
        var rng = new Rng(37);
        var ids = new int[batch * steps];
        var next = new int[batch * steps];
        for (int i = 0; i < ids.Length; i++) { ids[i] = 1 + rng.NextInt(vocab - 1); next[i] = 1 + rng.NextInt(vocab - 1); }
        int[] Window(int[] a, int t0, int len) =>
            Enumerable.Range(0, batch).SelectMany(b => a.Skip(b * steps + t0).Take(len)).ToArray();

        var whole = new float[batch * steps * vocab];
        var stateWhole = new float[model.StateLength(batch)];
        model.Forward(ids, batch, steps, whole, default, stateWhole);
        double lossWhole = model.LossSum(ids, next, batch, steps, out int countWhole);

        var s1 = new float[model.StateLength(batch)];
        var s2 = new float[model.StateLength(batch)];
        var first = new float[batch * cut * vocab];
        var second = new float[batch * (steps - cut) * vocab];
        model.Forward(Window(ids, 0, cut), batch, cut, first, default, s1);
        model.Forward(Window(ids, cut, steps - cut), batch, steps - cut, second, s1, s2);
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
            {
                var expected = whole.AsSpan((b * steps + t) * vocab, vocab);
                var got = t < cut ? first.AsSpan((b * cut + t) * vocab, vocab) : second.AsSpan((b * (steps - cut) + t - cut) * vocab, vocab);
                for (int v = 0; v < vocab; v++) Assert.Equal(expected[v], got[v], 5);
            }
        for (int i = 0; i < s2.Length; i++) Assert.Equal(stateWhole[i], s2[i], 5);

        // Training in windows: the losses add up to the long sequence's, and the second window's gradient
        // depends on the carried state (it differs from the same window started from zeros).
        model.Train();
        model.ZeroGrad();
        double l1 = model.ForwardBackward(Window(ids, 0, cut), Window(next, 0, cut), batch, cut, default, s1) * batch * cut;
        model.ZeroGrad();
        double l2 = model.ForwardBackward(Window(ids, cut, steps - cut), Window(next, cut, steps - cut), batch, steps - cut, s1)
            * batch * (steps - cut);
        var carried = model.NamedParameters().Select(p => p.Parameter.Grad.Data.ToArray()).ToArray();
        Assert.Equal(lossWhole, l1 + l2, 3);
        Assert.Equal(batch * steps, countWhole);
        model.ZeroGrad();
        model.ForwardBackward(Window(ids, cut, steps - cut), Window(next, cut, steps - cut), batch, steps - cut);
        var fromZero = model.NamedParameters().Select(p => p.Parameter.Grad.Data.ToArray()).ToArray();
        Assert.Contains(Enumerable.Range(0, carried.Length), i => !carried[i].AsSpan().SequenceEqual(fromZero[i]));
    }

    [Theory]
    [MemberData(nameof(AllCells))]
    public void SteppingOneTokenAtATimeGivesTheForwardLogits(CellType cell)
    {
        const int vocab = 15, steps = 9, batch = 2;
        using var model = new RecurrentLanguageModel(new ModelConfig(vocab, 5, 6, 2, TieWeights: true, Cell: cell));
        Initialization.Apply(model, InitScheme.SmallUniform, new Rng(41), 0.5f);
        model.Eval();
        var rng = new Rng(43);
        var ids = Enumerable.Range(0, batch * steps).Select(_ => 1 + rng.NextInt(vocab - 1)).ToArray();
        var logits = new float[batch * steps * vocab];
        var stateN = new float[model.StateLength(batch)];
        model.Forward(ids, batch, steps, logits, default, stateN);

        var state = new float[model.StateLength(batch)];
        var stepLogits = new float[batch * vocab];
        var tokens = new int[batch];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++) tokens[b] = ids[b * steps + t];
            model.Step(tokens, state, stepLogits);
            for (int b = 0; b < batch; b++)
                for (int v = 0; v < vocab; v++)
                    Assert.Equal(logits[(b * steps + t) * vocab + v], stepLogits[b * vocab + v], 5);
        }
        for (int i = 0; i < state.Length; i++) Assert.Equal(stateN[i], state[i], 5);
    }

    private static float[][] TrainSteps(CellType cell, int threads)
    {
        const int vocab = 300, batch = 32, steps = 10;
        using var model = new RecurrentLanguageModel(new ModelConfig(vocab, 48, 64, 2, Dropout: 0.2f, WeightDropout: 0.2f, Cell: cell), threads);
        Initialization.Apply(model, InitScheme.SmallUniform, new Rng(5), 0.1f);
        using var opt = new AdamW(model.Parameters(), threads: threads);
        var rng = new Rng(9);
        var x = new int[batch * steps];
        var y = new int[batch * steps];
        var state = new float[model.StateLength(batch)];
        var next = new float[state.Length];
        for (int s = 0; s < 4; s++)
        {
            for (int i = 0; i < x.Length; i++) { x[i] = rng.NextInt(vocab); y[i] = rng.NextInt(vocab); }
            opt.ZeroGrad();
            model.ForwardBackward(x, y, batch, steps, state, next);
            (state, next) = (next, state);
            opt.Step();
        }
        return model.Parameters().Select(p => p.Value.Data.ToArray()).ToArray();
    }

    [Theory]
    [MemberData(nameof(GatedCells))]
    public void OneAndTwoThreadsGiveTheSameWeights(CellType cell)
    {
        var one = TrainSteps(cell, 1);
        var two = TrainSteps(cell, 2);
        for (int i = 0; i < one.Length; i++)
            Assert.True(one[i].AsSpan().SequenceEqual(two[i]), $"parameter {i} differs between 1 and 2 threads");
    }

    [Fact]
    public void TheCellsNameTheirParametersAsPyTorchDoes()
    {
        using var lstm = new RecurrentLanguageModel(new ModelConfig(10, 4, 6, 2, Cell: CellType.Lstm));
        var shapes = lstm.NamedParameters().ToDictionary(p => p.Name, p => string.Join('x', p.Parameter.Shape));
        Assert.Equal("24x4", shapes["rnn.weight_ih_l0"]);
        Assert.Equal("24x6", shapes["rnn.weight_ih_l1"]);
        Assert.Equal("24x6", shapes["rnn.weight_hh_l1"]);
        Assert.Equal("24", shapes["rnn.bias_hh_l0"]);
        Assert.Equal(2 * 2 * 3 * 6, lstm.StateLength(3));
        using var gru = new RecurrentLanguageModel(new ModelConfig(10, 4, 6, 1, Cell: CellType.Gru));
        Assert.Contains(gru.NamedParameters(), p => p.Name == "rnn.weight_hh_l0" && p.Parameter.Shape[0] == 18);
        Assert.Equal(3 * 6, gru.StateLength(3));
        using var elman = new RecurrentLanguageModel(new ModelConfig(10, 4, 6, 1));
        Assert.Contains(elman.NamedParameters(), p => p.Name == "rnn.layers.0.Uh");
    }

    [Theory]
    [InlineData(CellType.Elman, false, 6)]
    [InlineData(CellType.Elman, true, 6)]
    [InlineData(CellType.Elman, true, 4)]
    [InlineData(CellType.Gru, false, 7)]
    [InlineData(CellType.Lstm, true, 4)]
    [InlineData(CellType.Lstm, true, 5)]
    public void TheConfigCountsTheModelsParameters(CellType cell, bool tie, int hidden)
    {
        var config = new ModelConfig(23, 4, hidden, 3, TieWeights: tie, Cell: cell);
        using var model = new RecurrentLanguageModel(config);
        Assert.Equal(model.ParameterCount(), config.ParameterCount());
    }

    [Fact]
    public void GatedLayersStartWithPyTorchsInitialisation()
    {
        using var model = new RecurrentLanguageModel(new ModelConfig(50, 8, 16, 2, Cell: CellType.Lstm));
        Initialization.Apply(model, InitScheme.Book, new Rng(3));
        float k = 1f / MathF.Sqrt(16);
        foreach (var (name, p) in model.NamedParameters().Where(p => p.Name.StartsWith("rnn.", StringComparison.Ordinal)))
        {
            Assert.All(p.Value.Data, v => Assert.InRange(v, -k, k));
            Assert.True(p.Value.Data.Min() < -k / 2 && p.Value.Data.Max() > k / 2, $"{name} should fill U(-{k}, {k})");
        }
        Initialization.SetForgetBias(model, 1f);
        var b = ((LstmLayer)model.Rnn.Layers[1]).BiasIh.Value.Data;
        Assert.All(b.AsSpan(16, 16).ToArray(), v => Assert.Equal(1f, v));
        Assert.True(b.AsSpan(0, 16).ToArray().All(v => v != 1f), "only the forget gate's bias is set");
        using var elman = new RecurrentLanguageModel(new ModelConfig(50, 8, 16, 2));
        Assert.Throws<ArgumentException>(() => Initialization.SetForgetBias(elman, 1f));
    }

    [Theory]
    [MemberData(nameof(GatedCells))]
    public void AStateOfTheWrongLengthIsRefusedByName(CellType cell)
    {
        using var model = new RecurrentLanguageModel(new ModelConfig(10, 4, 4, 2, Cell: cell));
        var e = Assert.Throws<ArgumentException>(() => model.ForwardBackward([1, 2, 3, 4], [1, 2, 3, 4], 2, 2, h0: new float[model.StateLength(2) - 4]));
        Assert.Equal("h0", e.ParamName);
        Assert.Contains(cell.Name(), e.Message);
        Assert.Contains(model.StateLength(2).ToString(), e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Step([1], new float[3], new float[10]));
        Assert.Equal("state", e.ParamName);
    }
}

[Collection(SerialCollection.Name)]
public class CellAllocationTests
{
    [Theory]
    [InlineData(CellType.Gru)]
    [InlineData(CellType.Lstm)]
    public void SteadyStateTrainingAndGenerationStepsAllocateNothing(CellType cell)
    {
        const int vocab = 500, batch = 16, steps = 12;
        using var model = new RecurrentLanguageModel(new ModelConfig(vocab, 32, 48, 2, Dropout: 0.1f, WeightDropout: 0.1f, Cell: cell), threads: 2);
        Initialization.Apply(model, InitScheme.SmallUniform, new Rng(1));
        using var opt = new AdamW(model.Parameters());
        var rng = new Rng(3);
        var x = new int[batch * steps];
        var y = new int[batch * steps];
        for (int i = 0; i < x.Length; i++) { x[i] = rng.NextInt(vocab); y[i] = rng.NextInt(vocab); }
        var state = new float[model.StateLength(batch)];
        var next = new float[state.Length];
        var genState = new float[model.StateLength(1)];
        var logits = new float[vocab];
        int[] token = [1];
        void Step()
        {
            opt.ZeroGrad();
            model.ForwardBackward(x, y, batch, steps, state, next);
            next.CopyTo(state, 0);
            GradientClipping.ClipByGlobalNorm(opt.Parameters, 1.0);
            opt.Step();
            model.Step(token, genState, logits);
        }
        Step(); Step();
        long bytes = Allocations.OnThread(Step, repeats: 4);
        Assert.True(bytes == 0, $"4 {cell} training and generation steps allocated {bytes} bytes on the training thread in every round");
    }
}

/// <summary>
/// Seeded training steps give the same weights on every kernel path the CPU can run (avx512, avx2, v128, scalar) and
/// on 1 to 4 threads, for every cell. Runs alone: it switches kernels for the whole process.
/// </summary>
[Collection(nameof(RnnLm.Tests.Tensors.SgemmCollection))]
public class KernelPathTests
{
    private static float[][] Train(CellType cell, int threads)
    {
        const int vocab = 200, batch = 24, steps = 9;
        using var model = new RecurrentLanguageModel(new ModelConfig(vocab, 40, 48, 2, Dropout: 0.1f, Cell: cell), threads);
        Initialization.Apply(model, InitScheme.Book, new Rng(8));
        using var opt = new AdamW(model.Parameters(), threads: threads);
        var rng = new Rng(4);
        var x = new int[batch * steps];
        var y = new int[batch * steps];
        for (int s = 0; s < 3; s++)
        {
            for (int i = 0; i < x.Length; i++) { x[i] = rng.NextInt(vocab); y[i] = rng.NextInt(vocab); }
            opt.ZeroGrad();
            model.ForwardBackward(x, y, batch, steps);
            GradientClipping.ClipByGlobalNorm(opt.Parameters, 0.5);
            opt.Step();
        }
        return model.Parameters().Select(p => p.Value.Data.ToArray()).ToArray();
    }

    [Theory]
    [InlineData(CellType.Elman)]
    [InlineData(CellType.Gru)]
    [InlineData(CellType.Lstm)]
    public void EveryPathAndThreadCountGivesTheSameWeights(CellType cell)
    {
        var first = RnnLm.Tests.Tensors.KernelPaths.With(KernelPath.Supported[0], () => Train(cell, 2));
        foreach (string path in KernelPath.Supported)
            foreach (int threads in path == KernelPath.Supported[0] ? new[] { 1, 3, 4 } : new[] { 1, 2 })
            {
                var got = RnnLm.Tests.Tensors.KernelPaths.With(path, () => Train(cell, threads));
                for (int i = 0; i < first.Length; i++)
                    Assert.True(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(first[i]).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(got[i])),
                        $"parameter {i} of the {cell} model differs between {KernelPath.Supported[0]} on 2 threads and {path} on {threads}");
            }
    }
}
