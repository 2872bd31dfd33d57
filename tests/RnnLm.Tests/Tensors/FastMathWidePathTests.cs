using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

/// <summary>
/// The 16-lane (AVX-512) and 8-lane (AVX2) paths of FastMath give the same bits. Serial: the tests switch the
/// process-wide path. Where the CPU has no AVX-512 both runs take the 8-lane path, and the test checks that.
/// </summary>
[Collection(SerialCollection.Name)]
public class FastMathWidePathTests
{
    private static T With<T>(bool wide, Func<T> f)
    {
        bool saved = FastMath.UseAvx512;
        FastMath.UseAvx512 = wide && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        try { return f(); }
        finally { FastMath.UseAvx512 = saved; }
    }

    private static float[] Inputs(int n, float lo, float hi, int seed)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng.NextFloat();
        return x;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(24)]
    [InlineData(1003)]
    public void ExpAndTanhGiveTheSameBitsOnBothPaths(int n)
    {
        var x = Inputs(n, -90f, 90f, n);
        if (n > 3) { x[0] = 0f; x[1] = 1e-6f; x[2] = -0.0624f; x[3] = 0.0626f; }
        float[] Run(bool wide, bool tanh) => With(wide, () =>
        {
            var y = new float[n];
            if (tanh) FastMath.Tanh(x, y); else FastMath.Exp(x, y);
            return y;
        });
        Assert.Equal(Run(false, false), Run(true, false));
        Assert.Equal(Run(false, true), Run(true, true));
    }

    [Theory]
    [InlineData(7, 2)]
    [InlineData(16, 15)]
    [InlineData(40, 0)]
    [InlineData(10_001, 9_999)]
    [InlineData(32_011, 12)]
    public void SoftmaxRowGivesTheSameBitsOnBothPaths(int n, int target)
    {
        var logits = Inputs(n, -6f, 6f, n + 1);
        var bias = Inputs(n, -0.5f, 0.5f, n + 2);
        (double Loss, float[] Row, float[] DBias) Run(bool wide) => With(wide, () =>
        {
            var row = (float[])logits.Clone();
            var dbias = Inputs(n, -1f, 1f, n + 3);
            double loss = FastMath.SoftmaxCrossEntropyRow(row, bias, target, gradient: true, scale: 0.37f, dbias);
            return (loss, row, dbias);
        });
        var narrow = Run(false);
        var wide = Run(true);
        Assert.Equal(narrow.Loss, wide.Loss);
        Assert.Equal(narrow.Row, wide.Row);
        Assert.Equal(narrow.DBias, wide.DBias);
        // The loss alone (no gradient) agrees too.
        double lossOnly(bool w) => With(w, () => FastMath.SoftmaxCrossEntropyRow((float[])logits.Clone(), bias, target, false, 1f, default));
        Assert.Equal(lossOnly(false), lossOnly(true));
        Assert.Equal(narrow.Loss, lossOnly(true));
    }
}
