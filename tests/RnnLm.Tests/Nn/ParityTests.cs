using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Tests.Nn;

/// <summary>Every case PyTorch computed in ../shared/fixtures/parity and parity-cells, at rtol 1e-4 / atol 1e-5.</summary>
public class ParityTests
{
    private const double Rtol = 1e-4, Atol = 1e-5;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var f in ParityFixture.Files()) data.Add(f);
        return data;
    }

    [Fact]
    public void EachFixtureFolderHasCases()
    {
        foreach (var folder in ParityFixture.Folders)
            Assert.Contains(ParityFixture.Files(), f => f.StartsWith(folder + "/", StringComparison.Ordinal));
        Assert.Contains(ParityFixture.Files().Select(ParityFixture.Load), f => f.Cell == CellType.Gru);
        Assert.Contains(ParityFixture.Files().Select(ParityFixture.Load), f => f.Cell == CellType.Lstm);
    }

    private static (ParityFixture, RecurrentLanguageModel) Build(string file, int threads = 1)
    {
        var f = ParityFixture.Load(file);
        var model = new RecurrentLanguageModel(f.Config(), threads);
        var names = model.NamedParameters().Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Equal(f.Params.Keys.OrderBy(n => n, StringComparer.Ordinal).ToArray(), names);
        foreach (var (name, p) in model.NamedParameters())
        {
            var src = f.Params[name];
            Assert.Equal(p.Length, src.Length);
            for (int i = 0; i < src.Length; i++) p.Value.Data[i] = (float)src[i];
        }
        return (f, model);
    }

    private static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            Assert.True(diff <= Atol + Rtol * Math.Abs(expected[i]),
                $"{what}[{i}]: got {actual[i]:R}, PyTorch {expected[i]:R} (diff {diff:E2})");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsAndFinalHiddenStateMatch(string file)
    {
        var (f, model) = Build(file);
        var logits = new float[f.Batch * f.Steps * f.Vocab];
        var hN = new float[model.StateLength(f.Batch)];
        model.Forward(f.Input, f.Batch, f.Steps, logits, f.H0, hN);
        AssertClose(f.Logits, logits, "logits");
        AssertClose(f.HN, hN, "state after the last step (h_n, c_n)");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossAndEveryGradientMatch(string file)
    {
        var (f, model) = Build(file);
        model.ZeroGrad();
        var hN = new float[model.StateLength(f.Batch)];
        float loss = model.ForwardBackward(f.Input, f.Target, f.Batch, f.Steps, f.H0, hN);
        AssertClose([f.Loss], [loss], "loss");
        AssertClose(f.HN, hN, "state after the last step (h_n, c_n)");
        foreach (var (name, p) in model.NamedParameters())
            AssertClose(f.Grads[name], p.Grad.Data, $"grad {name}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ParametersAfterAdamWStepsMatch(string file)
    {
        var (f, model) = Build(file);
        var opt = new AdamW(model.Parameters(), f.Lr, f.Beta1, f.Beta2, f.Eps, f.WeightDecay);
        for (int s = 0; s < f.AdamSteps; s++)
        {
            opt.ZeroGrad();
            model.ForwardBackward(f.Input, f.Target, f.Batch, f.Steps, f.H0);
            opt.Step();
        }
        foreach (var (name, p) in model.NamedParameters())
            AssertClose(f.ParamsAfter[name], p.Value.Data, $"{name} after {f.AdamSteps} AdamW steps");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TwoThreadsGiveTheSameResults(string file)
    {
        var (f, m1) = Build(file, threads: 1);
        var (_, m2) = Build(file, threads: 2);
        m1.ZeroGrad(); m2.ZeroGrad();
        Assert.Equal(m1.ForwardBackward(f.Input, f.Target, f.Batch, f.Steps, f.H0),
                     m2.ForwardBackward(f.Input, f.Target, f.Batch, f.Steps, f.H0));
        foreach (var ((name, p1), (_, p2)) in m1.NamedParameters().Zip(m2.NamedParameters()))
            Assert.True(p1.Grad.Data.AsSpan().SequenceEqual(p2.Grad.Data), $"grad {name} differs between 1 and 2 threads");
    }
}
