using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

/// <summary>
/// The output layer's sliced kernels: logits written in vocabulary slices, the segmented softmax row and the two
/// gradient multiplies over a sliced G, against the plain multiplies and the contiguous row (bit for bit where the
/// order of operations is the same, and against a double-precision reference otherwise).
/// </summary>
[Collection(nameof(SgemmCollection))]
public sealed class SlicedOutputLayerTests
{
    private const int S = SgemmKernels.SliceWidth;

    private static float[] Random(int length, int seed, float scale = 1f)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = scale * (2 * rng.NextFloat() - 1);
        return x;
    }

    private static int Slices(int v) => (v + S - 1) / S;

    private static unsafe void LogitsSliced(int rows, float[] x, int k, PackedMatrix wT, float[] g)
    {
        using var buf = new SgemmBuffers();
        fixed (float* px = x, pg = g) SgemmKernels.LogitsSliced(buf, rows, wT.N, k, px, k, wT.Data, pg, rows * S);
    }

    private static unsafe void OutputGradients(int rows, float[] g, float[] x, int h, PackedMatrix w, float[] dW, float[] dX,
        bool accumulateDx, bool accumulateDW = true)
    {
        using var buf = new SgemmBuffers();
        fixed (float* pg = g, px = x, pdw = dW, pdx = dX)
            SgemmKernels.OutputGradients(buf, rows, w.K, h, pg, rows * S, px, h, w.Data, pdw, h, pdx, h, accumulateDx, accumulateDW);
    }

    /// <summary>Element [r, c] of a sliced [rows, v] matrix.</summary>
    private static float At(float[] g, int rows, int r, int c) => g[c / S * rows * S + r * S + c % S];

    private static void SameBits(float want, float got, string what)
    {
        if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(got))
            Assert.Fail($"{what}: {got:R}, expected {want:R}");
    }

    [Theory]
    [InlineData(13, 500, 128)]     // rows not a multiple of 6, a partial last slice
    [InlineData(150, 4500, 64)]    // more columns than one column block (NC): slices in two blocks
    [InlineData(7, 240, 300)]      // one full slice; K in two k blocks
    [InlineData(5, 65, 32)]        // a vocabulary smaller than one slice
    public void LogitsSlicedAreTheSameBitsAsTheWholeMultiply(int rows, int v, int k)
    {
        var x = Random(rows * k, 1);
        var w = Random(v * k, 2);
        using var wT = new PackedMatrix();
        wT.Pack(transposed: true, v, k, w, k);
        using var gemm = new SgemmEngine(1);
        var want = new float[rows * v];
        gemm.Multiply(GemmVariant.NT, rows, x, k, wT, want, v, accumulate: false);
        var g = new float[Slices(v) * rows * S];
        Array.Fill(g, float.NaN);
        LogitsSliced(rows, x, k, wT, g);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < v; c++)
                SameBits(want[r * v + c], At(g, rows, r, c), $"logit [{r},{c}]");
    }

    [Theory]
    [InlineData(1000, 17)]
    [InlineData(1000, 999)]
    [InlineData(480, 250)]
    [InlineData(250, 3)]     // one segment
    public void SegmentedRowIsTheSameBitsAsTheContiguousRow(int n, int target)
    {
        foreach (var path in KernelPath.Supported)
        KernelPaths.With(path, () =>
        {
            var logits = Random(n, 3, 6f);
            var bias = Random(n, 4, 0.5f);
            var row = (float[])logits.Clone();
            var dbias = Random(n, 5);
            double want = OutputRow.SoftmaxCrossEntropyRow(row, bias, target, gradient: true, scale: 0.3f, dbias);

            // The same row in segments of S, 2·S apart, with garbage between them that must stay untouched.
            int segments = Slices(n), stride = 2 * S;
            var seg = new float[segments * stride];
            Array.Fill(seg, 777f);
            for (int i = 0; i < n; i++) seg[i / S * stride + i % S] = logits[i];
            var dbias2 = Random(n, 5);
            double got;
            unsafe
            {
                fixed (float* ps = seg, pb = bias, pd = dbias2)
                    got = FastMath.SegmentedRow(ps, stride, S, n, pb, target, gradient: true, 0.3f, pd);
            }
            Assert.Equal(want, got);
            for (int i = 0; i < n; i++)
            {
                SameBits(row[i], seg[i / S * stride + i % S], $"gradient [{i}]");
                SameBits(dbias[i], dbias2[i], $"dbias [{i}]");
            }
            for (int i = 0; i < seg.Length; i++)
                if (i % stride >= S || i / stride * S + i % stride >= n) Assert.Equal(777f, seg[i]);
        });
    }

    [Theory]
    [InlineData(13, 500, 128)]
    [InlineData(300, 4500, 32)]    // rows in two k blocks of the weight gradient, slices in two column blocks
    [InlineData(7, 65, 48)]
    public void OutputGradientsMatchTheTwoMultiplies(int rows, int v, int h)
    {
        var g = Random(rows * v, 6);
        var x = Random(rows * h, 7);
        var w = Random(v * h, 8);
        using var gemm = new SgemmEngine(1);

        // dW += Gᵀ·X the plain way, from the same starting values: the same bits.
        var dW0 = Random(v * h, 9);
        var dWWant = (float[])dW0.Clone();
        gemm.Multiply(GemmVariant.TN, v, h, rows, g, v, x, h, dWWant, h, accumulate: true);

        var sliced = new float[Slices(v) * rows * S];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < v; c++) sliced[c / S * rows * S + r * S + c % S] = g[r * v + c];
        using var packed = new PackedMatrix();
        packed.PackSliced(h, v, w, h);
        Assert.True(packed.Sliced);
        var dW = (float[])dW0.Clone();
        var dX = Random(rows * h, 10);
        OutputGradients(rows, sliced, x, h, packed, dW, dX, accumulateDx: false);
        for (int i = 0; i < dW.Length; i++) SameBits(dWWant[i], dW[i], $"dW [{i / h},{i % h}]");

        // dX = G·W sums in slices of S: compare with a double-precision reference.
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < h; j++)
            {
                double want = 0, mag = 0;
                for (int c = 0; c < v; c++) { want += (double)g[r * v + c] * w[c * h + j]; mag += Math.Abs((double)g[r * v + c] * w[c * h + j]); }
                Assert.True(Math.Abs(dX[r * h + j] - want) <= 1e-5 * mag + 1e-6, $"dX [{r},{j}] = {dX[r * h + j]}, expected {want}");
            }

        // With accumulateDW false dW is overwritten: the same bits as the multiply that overwrites it.
        var dWOver = Random(v * h, 15);
        dWOver[0] = float.NaN;
        var dWOverWant = new float[v * h];
        gemm.Multiply(GemmVariant.TN, v, h, rows, g, v, x, h, dWOverWant, h, accumulate: false);
        OutputGradients(rows, sliced, x, h, packed, dWOver, Random(rows * h, 16), accumulateDx: false, accumulateDW: false);
        for (int i = 0; i < dWOver.Length; i++) SameBits(dWOverWant[i], dWOver[i], $"overwritten dW [{i / h},{i % h}]");

        // With accumulateDx the products are added to what is there.
        var dX2 = Random(rows * h, 11);
        var start = (float[])dX2.Clone();
        var dW2 = (float[])dW0.Clone();
        OutputGradients(rows, sliced, x, h, packed, dW2, dX2, accumulateDx: true);
        for (int i = 0; i < dX2.Length; i++)
            Assert.True(Math.Abs(dX2[i] - start[i] - dX[i]) <= 1e-5f * (1 + Math.Abs(dX[i])), $"accumulated dX [{i}]");
    }

    /// <summary>
    /// The sliced logits and the gradient multiplies give the same bits on every kernel path: overwriting and
    /// accumulating, with partial tiles and slices. (Threads split them in the output layer: ThreadCountTests.)
    /// </summary>
    [Theory]
    [InlineData(50, 1000, 40)]
    [InlineData(13, 500, 128)]
    [InlineData(200, 2000, 20)]
    public void SlicedCallsGiveTheSameBitsOnEveryPath(int rows, int v, int h)
    {
        var x = Random(rows * h, 21);
        var w = Random(v * h, 22);
        var g = Random(Slices(v) * rows * S, 23);
        (float[] Logits, float[] DW, float[] DX, float[] DWOver, float[] DXAcc) Run()
        {
            using var wT = new PackedMatrix();
            wT.Pack(transposed: true, v, h, w, h);
            using var packed = new PackedMatrix();
            packed.PackSliced(h, v, w, h);
            var logits = new float[Slices(v) * rows * S];
            LogitsSliced(rows, x, h, wT, logits);
            var dW = Random(v * h, 24);
            var dX = Random(rows * h, 25);
            OutputGradients(rows, g, x, h, packed, dW, dX, accumulateDx: false);
            var dWOver = Random(v * h, 26);
            var dXAcc = Random(rows * h, 27);
            OutputGradients(rows, g, x, h, packed, dWOver, dXAcc, accumulateDx: true, accumulateDW: false);
            return (logits, dW, dX, dWOver, dXAcc);
        }
        var want = KernelPaths.With(KernelPath.Supported[0], Run);
        foreach (var path in KernelPath.Supported)
        {
            var got = KernelPaths.With(path, Run);
            string what = path.ToString();
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < v; c++) SameBits(At(want.Logits, rows, r, c), At(got.Logits, rows, r, c), $"logit [{r},{c}] {what}");
            for (int i = 0; i < want.DW.Length; i++) SameBits(want.DW[i], got.DW[i], $"dW [{i}] {what}");
            for (int i = 0; i < want.DX.Length; i++) SameBits(want.DX[i], got.DX[i], $"dX [{i}] {what}");
            for (int i = 0; i < want.DWOver.Length; i++) SameBits(want.DWOver[i], got.DWOver[i], $"overwritten dW [{i}] {what}");
            for (int i = 0; i < want.DXAcc.Length; i++) SameBits(want.DXAcc[i], got.DXAcc[i], $"accumulated dX [{i}] {what}");
        }
    }

    [Fact]
    public void ASlicedPackingIsRefusedByTheGeneralMultiply()
    {
        var w = Random(300 * 16, 12);
        using var gemm = new SgemmEngine(1);
        using var sliced = new PackedMatrix();
        sliced.PackSliced(16, 300, w, 16);
        var a = Random(4 * 300, 13);
        var c = new float[4 * 16];
        Assert.Throws<ArgumentException>(() => gemm.Multiply(GemmVariant.NN, 4, a, 300, sliced, c, 16, accumulate: false));
    }
}
