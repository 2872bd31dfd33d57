using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

/// <summary>
/// Every kernel path the CPU can run (16, 8, 4 lanes and scalar) gives FastMath's functions the same bits, at every
/// length (vector bodies and tails). Serial: the tests switch the process-wide path.
/// </summary>
[Collection(SerialCollection.Name)]
public class FastMathPathTests
{
    private static float[] Inputs(int n, float lo, float hi, int seed)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng.NextFloat();
        return x;
    }

    /// <summary>Runs f on every path and asserts each result is the first one's bits.</summary>
    private static void SameOnEveryPath<T>(Func<T> f, Action<T, T, string> assertEqual)
    {
        T first = KernelPaths.With(KernelPath.Supported[0], f);
        foreach (var path in KernelPath.Supported.Skip(1))
            assertEqual(first, KernelPaths.With(path, f), path);
    }

    private static void SameBits(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]),
                $"{what}: element {i} is {got[i]:R}, {KernelPath.Supported[0]} gives {want[i]:R}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(15)]
    [InlineData(24)]
    [InlineData(31)]
    [InlineData(1003)]
    public void ExpTanhAndSigmoidGiveTheSameBitsOnEveryPath(int n)
    {
        var x = Inputs(n, -90f, 90f, n);
        if (n > 3) { x[0] = 0f; x[1] = 1e-6f; x[2] = -0.0624f; x[3] = 0.0626f; }
        foreach (var (name, fn) in new (string, Action<float[], float[]>)[]
                 { ("exp", (a, b) => FastMath.Exp(a, b)), ("tanh", (a, b) => FastMath.Tanh(a, b)), ("sigmoid", (a, b) => FastMath.Sigmoid(a, b)) })
            SameOnEveryPath(() => { var y = new float[n]; fn(x, y); return y; }, (a, b, path) => SameBits(a, b, $"{name} on {path}"));
    }

    [Fact]
    public void ExpAndTanhStayCloseToMathF()
    {
        var x = Inputs(999, -20f, 20f, 5);
        foreach (var path in KernelPath.Supported)
            KernelPaths.With(path, () =>
            {
                var e = new float[x.Length];
                var t = new float[x.Length];
                FastMath.Exp(x, e);
                FastMath.Tanh(x, t);
                for (int i = 0; i < x.Length; i++)
                {
                    Assert.True(Math.Abs(e[i] - MathF.Exp(x[i])) <= 3e-7f * MathF.Exp(x[i]), $"{path}: exp({x[i]:R}) = {e[i]:R}");
                    Assert.True(Math.Abs(t[i] - MathF.Tanh(x[i])) <= 1e-6f, $"{path}: tanh({x[i]:R}) = {t[i]:R}");
                }
            });
    }

    [Theory]
    [InlineData(7, 2)]
    [InlineData(16, 15)]
    [InlineData(40, 0)]
    [InlineData(10_001, 9_999)]
    [InlineData(32_011, 12)]
    public void SoftmaxRowGivesTheSameBitsOnEveryPath(int n, int target)
    {
        var logits = Inputs(n, -6f, 6f, n + 1);
        var bias = Inputs(n, -0.5f, 0.5f, n + 2);
        (double Loss, float[] Row, float[] DBias, double LossOnly) Run()
        {
            var row = (float[])logits.Clone();
            var dbias = Inputs(n, -1f, 1f, n + 3);
            double loss = OutputRow.SoftmaxCrossEntropyRow(row, bias, target, gradient: true, scale: 0.37f, dbias);
            double lossOnly = OutputRow.SoftmaxCrossEntropyRow((float[])logits.Clone(), bias, target, false, 1f, default);
            return (loss, row, dbias, lossOnly);
        }
        SameOnEveryPath(Run, (a, b, path) =>
        {
            Assert.Equal(a.Loss, b.Loss);
            Assert.Equal(a.Loss, b.LossOnly);
            SameBits(a.Row, b.Row, $"gradient on {path}");
            SameBits(a.DBias, b.DBias, $"dbias on {path}");
        });
        // Against a double-precision softmax.
        double max = double.NegativeInfinity, s = 0;
        for (int i = 0; i < n; i++) max = Math.Max(max, (double)logits[i] + bias[i]);
        for (int i = 0; i < n; i++) s += Math.Exp((double)logits[i] + bias[i] - max);
        double want = Math.Log(s) + max - ((double)logits[target] + bias[target]);
        Assert.Equal(want, KernelPaths.With(KernelPath.Supported[^1], Run).Loss, 1e-4 * Math.Max(1, Math.Abs(want)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(256)]
    [InlineData(1001)]
    public void DotGivesTheSameBitsOnEveryPath(int n)
    {
        var x = Inputs(n, -1f, 1f, n + 7);
        var y = Inputs(n, -1f, 1f, n + 8);
        double want = 0;
        for (int i = 0; i < n; i++) want += (double)x[i] * y[i];
        SameOnEveryPath(() => Dot(x, y), (a, b, path) => Assert.True(
            BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b), $"dot on {path}: {b:R} against {a:R}"));
        Assert.Equal(want, Dot(x, y), 1e-5 * Math.Sqrt(n));
    }

    /// <summary>One row of the row-dot kernel: x · y.</summary>
    private static unsafe float Dot(float[] x, float[] y)
    {
        float dot;
        fixed (float* px = x, py = y) RowDots.Floats(px, py, x.Length, 1, x.Length, &dot, false);
        return dot;
    }
}
