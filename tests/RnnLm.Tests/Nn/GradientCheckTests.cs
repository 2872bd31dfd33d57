using RnnLm.Nn;
using RnnLm.Tensors;

namespace RnnLm.Tests.Nn;

/// <summary>
/// Each module's backward against central finite differences of a scalar function of its forward output
/// (f = Σ w·output with fixed random w), on small random shapes.
/// </summary>
public class GradientCheckTests
{
    private const float Eps = 1e-2f;
    private readonly SgemmEngine _gemm = new(1);

    /// <summary>Compares grad[i] with (f(x+ε) - f(x-ε)) / 2ε for every element of x (but those skip names).</summary>
    internal static void CheckAgainstDifferences(float[] x, ReadOnlySpan<float> grad, Func<double> f, string what,
        Func<int, bool>? skip = null)
    {
        Assert.Equal(x.Length, grad.Length);
        for (int i = 0; i < x.Length; i++)
        {
            if (skip?.Invoke(i) == true) continue;
            float saved = x[i];
            x[i] = saved + Eps; double plus = f();
            x[i] = saved - Eps; double minus = f();
            x[i] = saved;
            double numeric = (plus - minus) / (2 * Eps);
            double diff = Math.Abs(numeric - grad[i]);
            Assert.True(diff <= 2e-3 + 2e-2 * Math.Abs(numeric), $"{what}[{i}]: analytic {grad[i]}, numeric {numeric}");
        }
    }

    internal static float[] Random(Rng rng, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = scale * (2 * rng.NextFloat() - 1);
        return a;
    }

    internal static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    [Theory]
    [InlineData(3, 2, 4, 5)]
    [InlineData(1, 3, 3, 3)]
    [InlineData(4, 1, 2, 7)]
    public void ElmanRnnUnit(int steps, int batch, int input, int hidden)
    {
        var rng = new Rng(7);
        var unit = new ElmanRnnUnit(input, hidden);
        foreach (var p in unit.Parameters()) Random(rng, p.Length, 0.5f).CopyTo(p.Value.Data, 0);
        var x = Random(rng, steps * batch * input);
        var h0 = Random(rng, batch * hidden, 0.5f);
        var w = Random(rng, steps * batch * hidden);
        var h = new float[w.Length];
        double F() { unit.Forward(_gemm, steps, batch, x, h0, h, default); return Dot(w, h); }

        F();
        var dh = (float[])w.Clone();
        var dx = new float[x.Length];
        var dh0 = new float[h0.Length];
        unit.ZeroGrad();
        unit.Backward(_gemm, steps, batch, x, h0, h, dh, dx, dh0);
        foreach (var (name, p) in unit.NamedParameters())
            CheckAgainstDifferences(p.Value.Data, p.Grad.Data, F, name);
        CheckAgainstDifferences(x, dx, F, "x");
        CheckAgainstDifferences(h0, dh0, F, "h0");
    }

    [Fact]
    public void ElmanRnnStackWithHiddenSizeUnlikeInput()
    {
        int steps = 4, batch = 2, input = 3, hidden = 5, layers = 3;
        var rng = new Rng(11);
        var rnn = new RecurrentStack(input, hidden, layers);
        foreach (var p in rnn.Parameters()) Random(rng, p.Length, 0.5f).CopyTo(p.Value.Data, 0);
        var x = Random(rng, steps * batch * input);
        var h0 = Random(rng, layers * batch * hidden, 0.5f);
        var w = Random(rng, steps * batch * hidden);
        double F() { rnn.Forward(_gemm, steps, batch, x, h0, default); return Dot(w, rnn.Output); }

        F();
        var dx = new float[x.Length];
        rnn.ZeroGrad();
        rnn.Backward(_gemm, steps, batch, x, h0, w, dx);
        foreach (var (name, p) in rnn.NamedParameters())
            CheckAgainstDifferences(p.Value.Data, p.Grad.Data, F, name);
        CheckAgainstDifferences(x, dx, F, "x");
    }

    [Fact]
    public void Linear()
    {
        var rng = new Rng(3);
        int rows = 5, inF = 4, outF = 6;
        var lin = new Linear(inF, outF);
        foreach (var p in lin.Parameters()) Random(rng, p.Length).CopyTo(p.Value.Data, 0);
        var x = Random(rng, rows * inF);
        var w = Random(rng, rows * outF);
        var y = new float[w.Length];
        double F() { lin.Forward(_gemm, rows, x, y); return Dot(w, y); }
        var dx = new float[x.Length];
        lin.Backward(_gemm, rows, x, w, dx);
        foreach (var (name, p) in lin.NamedParameters())
            CheckAgainstDifferences(p.Value.Data, p.Grad.Data, F, name);
        CheckAgainstDifferences(x, dx, F, "x");
    }

    [Fact]
    public void EmbeddingGetsRowGradientsAndThePaddingRowNone()
    {
        var rng = new Rng(5);
        var emb = new Embedding(6, 3, paddingIndex: 2);
        Random(rng, emb.Weight.Length).CopyTo(emb.Weight.Value.Data, 0);
        emb.ZeroPaddingRow();
        int[] ids = [1, 2, 5, 1, 0];
        var w = Random(rng, ids.Length * 3);
        var y = new float[w.Length];
        emb.Forward(ids, y);
        Assert.True(y.AsSpan(3, 3).SequenceEqual(new float[3]), "the padding id must look up a zero vector");
        double F() { emb.Forward(ids, y); return Dot(w, y); }
        emb.Backward(ids, w);
        var grad = emb.Weight.Grad.Data;
        Assert.True(grad.AsSpan(2 * 3, 3).SequenceEqual(new float[3]), "the padding row must get no gradient");
        Assert.True(grad.AsSpan(3 * 3, 6).SequenceEqual(new float[6]), "rows never looked up get no gradient");
        // Every row but the padding one against finite differences (the padding row is read, but never learnt).
        CheckAgainstDifferences(emb.Weight.Value.Data, grad, F, "embedding", i => i / emb.Dim == emb.PaddingIndex);
    }

    [Fact]
    public void CrossEntropyLossWithIgnoredTargets()
    {
        var rng = new Rng(9);
        int classes = 5;
        int[] targets = [1, 0, 4, 3];
        var logits = Random(rng, targets.Length * classes, 2f);
        var loss = new CrossEntropyLoss(ignoreIndex: 0);
        double F() => loss.Forward(logits, targets, classes, default);
        var grad = new float[logits.Length];
        loss.Forward(logits, targets, classes, grad);
        Assert.True(grad.AsSpan(classes, classes).SequenceEqual(new float[classes]), "an ignored row gets no gradient");
        CheckAgainstDifferences(logits, grad, F, "logits");
    }

    [Fact]
    public void WholeModelLossWithPaddingAndInitialState()
    {
        var rng = new Rng(13);
        var cfg = new ModelConfig(VocabSize: 9, EmbDim: 3, HiddenDim: 4, NumLayers: 2, PadIndex: 0);
        var model = new RecurrentLanguageModel(cfg);
        Initialization.Apply(model, InitScheme.SmallUniform, rng, 0.5f);
        int batch = 2, steps = 4;
        int[] inputs = [3, 5, 1, 0, 2, 8, 7, 4];
        int[] targets = [5, 1, 6, 0, 8, 7, 4, 2];
        var h0 = Random(rng, model.StateLength(batch), 0.3f);
        double F() => model.LossSum(inputs, targets, batch, steps, out int n, h0) / n;
        model.ZeroGrad();
        float loss = model.ForwardBackward(inputs, targets, batch, steps, h0);
        Assert.Equal(F(), loss, 5);
        foreach (var (name, p) in model.NamedParameters())
        {
            if (name == "embedding.weight") continue; // its padding row is checked in the Embedding test
            CheckAgainstDifferences(p.Value.Data, p.Grad.Data, F, name);
        }
    }

    [Theory]
    [InlineData(4, 4, false)]  // tied directly
    [InlineData(3, 5, false)]  // tied through a projection
    [InlineData(4, 4, true)]   // with dropout (the same masks for every evaluation)
    [InlineData(4, 4, true, 0.4f)]   // and weight drop on Uh
    [InlineData(4, 4, false, 0.4f)]  // weight drop alone
    public void ModelWithTiedHeadOrDropout(int emb, int hidden, bool dropout, float weightDropout = 0f)
    {
        var rng = new Rng(21);
        var cfg = new ModelConfig(VocabSize: 8, EmbDim: emb, HiddenDim: hidden, NumLayers: 2, PadIndex: 0,
            Dropout: dropout ? 0.3f : 0f, TieWeights: !dropout && weightDropout == 0, WeightDropout: weightDropout);
        var model = new RecurrentLanguageModel(cfg);
        Initialization.Apply(model, InitScheme.SmallUniform, rng, 0.5f);
        int batch = 2, steps = 3;
        int[] inputs = [3, 5, 1, 2, 7, 0];
        int[] targets = [5, 1, 6, 7, 4, 0];
        var rngState = model.DropoutRng.GetState();
        double F() { model.DropoutRng.SetState(rngState); return model.LossSum(inputs, targets, batch, steps, out int n) / n; }
        model.ZeroGrad();
        model.DropoutRng.SetState(rngState);
        model.ForwardBackward(inputs, targets, batch, steps);
        var emb0 = model.Embedding.Weight;
        Assert.True(emb0.Grad.Data.AsSpan(0, emb).SequenceEqual(new float[emb]), "the padding row gets no gradient");
        foreach (var p in model.Parameters())
        {
            // Skip the padding row, which is looked up as zero and never learnt.
            CheckAgainstDifferences(p.Value.Data, p.Grad.Data, F, $"a {string.Join('x', p.Shape)} parameter",
                i => p == emb0 && i < emb);
        }
        if (cfg.TieWeights)
            Assert.Same(model.Embedding.Weight, model.Fc.Weight);
    }
}
