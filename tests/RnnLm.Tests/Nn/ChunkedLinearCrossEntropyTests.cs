using RnnLm.Nn;
using RnnLm.Tensors;

namespace RnnLm.Tests.Nn;

/// <summary>The fused output layer and loss against a plain double-precision computation of the same thing.</summary>
public class ChunkedLinearCrossEntropyTests
{
    // An odd vocabulary wider than one column block of the SGEMM (4080).
    private const int V = 9001, H = 64, Rows = 70, Ignore = 0;

    private sealed record Result(double Loss, float[] DW, float[] DB, float[] DX);

    private static (Linear Head, float[] X, int[] Targets) Problem()
    {
        var rng = new Rng(9);
        var head = new Linear(H, V);
        foreach (var p in new[] { head.Weight, head.Bias })
            for (int i = 0; i < p.Length; i++) p.Value.Data[i] = (rng.NextFloat() - 0.5f) * 0.4f;
        var x = new float[Rows * H];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextFloat() * 2 - 1;
        var targets = new int[Rows];
        for (int r = 0; r < Rows; r++) targets[r] = r % 9 == 4 ? Ignore : 1 + rng.NextInt(V - 1);
        return (head, x, targets);
    }

    private static Result Run(int threads, int? chunkRows)
    {
        var (head, x, targets) = Problem();
        var loss = new CrossEntropyLoss(Ignore);
        int count = loss.CountTargets(targets, V);
        var dx = new float[Rows * H];
        using var gemm = new SgemmEngine(threads);
        using var fused = new ChunkedLinearCrossEntropy(threads, chunkRows);
        double sum = fused.Run(gemm, head, loss, Rows, x, targets, backward: true, 1f / count, dx);
        return new Result(sum, head.Weight.Grad.Data, head.Bias.Grad.Data, dx);
    }

    private static Result Reference()
    {
        var (head, x, targets) = Problem();
        var w = head.Weight.Value.Data;
        var b = head.Bias.Value.Data;
        int count = targets.Count(t => t != Ignore);
        double sum = 0;
        var dW = new double[V * H];
        var dB = new double[V];
        var dX = new double[Rows * H];
        var logits = new double[V];
        for (int r = 0; r < Rows; r++)
        {
            if (targets[r] == Ignore) continue;
            for (int v = 0; v < V; v++)
            {
                double z = b[v];
                for (int j = 0; j < H; j++) z += (double)w[v * H + j] * x[r * H + j];
                logits[v] = z;
            }
            double max = logits.Max(), s = 0;
            for (int v = 0; v < V; v++) s += Math.Exp(logits[v] - max);
            sum += Math.Log(s) + max - logits[targets[r]];
            for (int v = 0; v < V; v++)
            {
                double g = (Math.Exp(logits[v] - max) / s - (v == targets[r] ? 1 : 0)) / count;
                dB[v] += g;
                for (int j = 0; j < H; j++)
                {
                    dW[v * H + j] += g * x[r * H + j];
                    dX[r * H + j] += g * w[v * H + j];
                }
            }
        }
        float[] F(double[] a) => a.Select(d => (float)d).ToArray();
        return new Result(sum, F(dW), F(dB), F(dX));
    }

    private static void AssertClose(float[] want, float[] got, string what)
    {
        double scale = want.Max(Math.Abs);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-4 * scale, $"{what}[{i}]: want {want[i]}, got {got[i]} (largest {scale})");
    }

    [Theory]
    [InlineData(1, null)]   // one block per lane
    [InlineData(2, null)]
    [InlineData(1, 16)]     // several blocks per lane
    [InlineData(2, 16)]
    public void LossAndGradientsMatchAPlainComputation(int threads, int? chunkRows)
    {
        var want = Reference();
        var got = Run(threads, chunkRows);
        Assert.Equal(want.Loss, got.Loss, 1e-6 * want.Loss);
        AssertClose(want.DW, got.DW, "dW");
        AssertClose(want.DB, got.DB, "db");
        AssertClose(want.DX, got.DX, "dx");
    }

    [Theory]
    [InlineData(null)]
    [InlineData(16)]
    public void TheResultIsTheSameBitsOnOneAndTwoThreads(int? chunkRows)
    {
        var one = Run(1, chunkRows);
        var two = Run(2, chunkRows);
        Assert.Equal(one.Loss, two.Loss);
        Assert.True(one.DW.AsSpan().SequenceEqual(two.DW), "dW differs");
        Assert.True(one.DB.AsSpan().SequenceEqual(two.DB), "db differs");
        Assert.True(one.DX.AsSpan().SequenceEqual(two.DX), "dx differs");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void NoRowsGiveZeroAndLeaveTheGradientsAlone(int threads)
    {
        var (head, _, _) = Problem();
        head.Weight.Grad.Data[5] = 0.25f;
        using var gemm = new SgemmEngine(threads);
        using var fused = new ChunkedLinearCrossEntropy(threads);
        double sum = fused.Run(gemm, head, new CrossEntropyLoss(Ignore), 0, [], [], backward: true, 1f, []);
        Assert.Equal(0, sum);
        Assert.Equal(0.25f, head.Weight.Grad.Data[5]);
        Assert.All(head.Bias.Grad.Data, g => Assert.Equal(0f, g));
        Assert.Throws<ArgumentException>(() => fused.Run(gemm, head, new CrossEntropyLoss(Ignore), -1, [], [], backward: true, 1f, []));
    }
}
