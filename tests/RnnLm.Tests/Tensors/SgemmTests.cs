using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

/// <summary>Runs alone: one test switches the kernel globally, others measure allocations process-wide.</summary>
[CollectionDefinition(nameof(SgemmCollection), DisableParallelization = true)]
public sealed class SgemmCollection;

[Collection(nameof(SgemmCollection))]
public sealed class SgemmTests
{
    private const float Sentinel = 12345.5f;

    private sealed record Operands(float[] A, int Lda, float[] B, int Ldb, float[] C, int Ldc);

    private static void AssertSameBits(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            if (BitConverter.SingleToInt32Bits(want[i]) != BitConverter.SingleToInt32Bits(got[i]))
                Assert.Fail($"{what}: element {i} differs: {want[i]:R} against {got[i]:R}");
    }

    private static Operands Make(GemmVariant v, int m, int n, int k, int pad, int seed)
    {
        var rng = new Random(seed);
        int aRows = v == GemmVariant.TN ? k : m, aCols = v == GemmVariant.TN ? m : k;
        int bRows = v == GemmVariant.NT ? n : k, bCols = v == GemmVariant.NT ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        float[] Fill(int rows, int ld)
        {
            var x = new float[Math.Max(0, rows * ld)];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
            return x;
        }
        float[] a = Fill(aRows, lda), b = Fill(bRows, ldb), c = Fill(m, ldc);
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++) c[i * ldc + j] = Sentinel;
        return new Operands(a, lda, b, ldb, c, ldc);
    }

    /// <summary>Expected values (double precision) and error bounds scaled by sum |a·b| + |c|.</summary>
    private static (double[] Want, double[] Tol) Expected(GemmVariant v, int m, int n, int k, Operands o, bool accumulate)
    {
        var want = new double[m * n];
        var tol = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, mag = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = v == GemmVariant.TN ? o.A[p * o.Lda + i] : o.A[i * o.Lda + p];
                    double bv = v == GemmVariant.NT ? o.B[j * o.Ldb + p] : o.B[p * o.Ldb + j];
                    s += av * bv;
                    mag += Math.Abs(av * bv);
                }
                double c0 = accumulate ? o.C[i * o.Ldc + j] : 0;
                want[i * n + j] = c0 + s;
                tol[i * n + j] = 2e-7 * (k + 4) * (mag + Math.Abs(c0)) + 1e-30;
            }
        return (want, tol);
    }

    /// <summary>Checks got against the expected values; the padding of C must be untouched.</summary>
    private static void AssertClose(GemmVariant v, int m, int n, int k, Operands o, (double[] Want, double[] Tol) e, float[] got, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double diff = Math.Abs(got[i * o.Ldc + j] - e.Want[i * n + j]);
                if (!(diff <= e.Tol[i * n + j]))
                    Assert.Fail($"{v} m={m} n={n} k={k} acc={accumulate}: C[{i},{j}] = {got[i * o.Ldc + j]}, " +
                        $"expected {e.Want[i * n + j]} (diff {diff}, tol {e.Tol[i * n + j]})");
            }
            for (int j = n; j < o.Ldc; j++)
                if (got[i * o.Ldc + j] != Sentinel) Assert.Fail($"C[{i},{j}] (padding) was overwritten");
        }
    }

    public static TheoryData<GemmVariant, int, int, int> Shapes()
    {
        var data = new TheoryData<GemmVariant, int, int, int>();
        int[] small = [1, 7, 33];
        (int, int, int)[] extra =
        [
            (6, 16, 8), (12, 32, 5), (5, 15, 3), (13, 17, 9), (6, 17, 2), (7, 16, 1),
            (257, 1, 7), (1, 257, 7), (7, 7, 257), (257, 33, 33), (33, 257, 33), (33, 33, 257),
            (257, 257, 257), (300, 129, 517),
        ];
        foreach (GemmVariant v in Enum.GetValues<GemmVariant>())
        {
            foreach (int m in small)
                foreach (int n in small)
                    foreach (int k in small)
                        data.Add(v, m, n, k);
            foreach (var (m, n, k) in extra) data.Add(v, m, n, k);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(GemmVariant v, int m, int n, int k)
    {
        using var e1 = new SgemmEngine(1);
        using var e2 = new SgemmEngine(2);
        int seed = m * 1_000_003 + n * 1009 + k * 7 + (int)v;
        // Large shapes: one padded and one tight layout (the reference is slow in a Debug build).
        bool large = (long)m * n * k > 1_000_000;
        foreach (bool accumulate in new[] { false, true })
        {
            foreach (int pad in large ? [accumulate ? 3 : 0] : new[] { 0, 3 })
            {
                Operands o = Make(v, m, n, k, pad, seed + pad);
                var expected = Expected(v, m, n, k, o, accumulate);
                foreach (SgemmEngine e in new[] { e1, e2 })
                {
                    var c = (float[])o.C.Clone();
                    e.Multiply(v, m, n, k, o.A, o.Lda, o.B, o.Ldb, c, o.Ldc, accumulate);
                    AssertClose(v, m, n, k, o, expected, c, accumulate);
                }
            }
        }
    }

    /// <summary>
    /// Every kernel path the CPU can run (avx512's 12x32 tile, avx2's 6x16, v128's two 6x8 halves, scalar) matches the
    /// reference and gives the bits of the first: full and edge tiles, k one block or several, overwrite and
    /// accumulate, 1 to 4 threads, packed per call and packed beforehand, tiles walked down or across a block.
    /// </summary>
    [Theory]
    [InlineData(GemmVariant.NN, 389, 301, 257)]
    [InlineData(GemmVariant.NT, 97, 1001, 600)]
    [InlineData(GemmVariant.TN, 250, 129, 81)]
    [InlineData(GemmVariant.NN, 12, 32, 1)]
    [InlineData(GemmVariant.NT, 13, 33, 5)]
    [InlineData(GemmVariant.NN, 1, 70, 40)]
    [InlineData(GemmVariant.NT, 1, 70, 40)]
    [InlineData(GemmVariant.TN, 1, 70, 40)]
    [InlineData(GemmVariant.NT, 1, 1001, 300)]
    // Blocks wider than avx512's column sub-block (384 KB of packed B), walked across it, with row and column edges.
    [InlineData(GemmVariant.NN, 151, 1100, 256)]
    [InlineData(GemmVariant.TN, 40, 900, 300)]
    // A block 16 columns wider than a multiple of 32 (the output layer's 240-column slices): avx512's 12x16 edge tile.
    [InlineData(GemmVariant.NT, 150, 240, 128)]
    [InlineData(GemmVariant.NN, 25, 61, 300)]
    public void EveryPathGivesTheSameBits(GemmVariant v, int m, int n, int k)
    {
        foreach (bool accumulate in new[] { false, true })
        {
            Operands o = Make(v, m, n, k, 3, 7);
            var expected = Expected(v, m, n, k, o, accumulate);
            // One row without packing is a row-times-matrix product: the same bits on every path, though not those of
            // the packed kernels, so it has its own reference.
            var first = new Dictionary<bool, float[]>();
            foreach (string path in KernelPath.Supported)
                foreach (int threads in new[] { 1, 2, 3, 4 })
                    foreach (bool packed in new[] { false, true })
                    {
                        var c = KernelPaths.With(path, () =>
                        {
                            using var e = new SgemmEngine(threads);
                            var c = (float[])o.C.Clone();
                            if (packed)
                            {
                                using var pb = new PackedMatrix();
                                pb.Pack(v == GemmVariant.NT, n, k, o.B, o.Ldb);
                                e.Multiply(v, m, o.A, o.Lda, pb, c, o.Ldc, accumulate);
                            }
                            else e.Multiply(v, m, n, k, o.A, o.Lda, o.B, o.Ldb, c, o.Ldc, accumulate);
                            return c;
                        });
                        bool rowProduct = m == 1 && !packed;
                        if (first.TryGetValue(rowProduct, out var want))
                            AssertSameBits(want, c, $"{v} {m}x{n}x{k} {path} threads {threads} packed {packed} accumulate {accumulate}");
                        else
                        {
                            AssertClose(v, m, n, k, o, expected, c, accumulate);
                            first[rowProduct] = c;
                        }
                    }
        }
    }

    [Theory]
    [InlineData(GemmVariant.NN, 389, 301, 257)]
    [InlineData(GemmVariant.NT, 389, 301, 257)]
    [InlineData(GemmVariant.TN, 389, 301, 257)]
    [InlineData(GemmVariant.NN, 1000, 128, 700)]
    [InlineData(GemmVariant.TN, 1000, 128, 700)]
    [InlineData(GemmVariant.NT, 97, 1001, 300)]
    public void ThreadCountDoesNotChangeResult(GemmVariant v, int m, int n, int k)
    {
        using var e1 = new SgemmEngine(1);
        using var e2 = new SgemmEngine(2);
        using var e3 = new SgemmEngine(3);
        foreach (bool accumulate in (long)m * n * k > 50_000_000 ? [false] : new[] { false, true })
        {
            Operands o = Make(v, m, n, k, 1, 7);
            var c1 = (float[])o.C.Clone();
            var c2 = (float[])o.C.Clone();
            var c3 = (float[])o.C.Clone();
            e1.Multiply(v, m, n, k, o.A, o.Lda, o.B, o.Ldb, c1, o.Ldc, accumulate);
            e2.Multiply(v, m, n, k, o.A, o.Lda, o.B, o.Ldb, c2, o.Ldc, accumulate);
            e3.Multiply(v, m, n, k, o.A, o.Lda, o.B, o.Ldb, c3, o.Ldc, accumulate);
            AssertSameBits(c1, c2, $"{v} acc={accumulate}, 1 against 2 threads");
            AssertSameBits(c1, c3, $"{v} acc={accumulate}, 1 against 3 threads");
        }
    }

    [Theory]
    [InlineData(GemmVariant.NT, 374, 10000, 256)]   // the PTB head's logits block: several column blocks
    [InlineData(GemmVariant.NN, 374, 256, 10000)]   // its input gradient: several depth blocks
    [InlineData(GemmVariant.NN, 37, 45, 29)]
    [InlineData(GemmVariant.NT, 61, 19, 300)]
    [InlineData(GemmVariant.TN, 50, 70, 2100)]
    [InlineData(GemmVariant.NT, 2, 4100, 3)]
    [InlineData(GemmVariant.NN, 64, 512, 512)]      // a recurrent step, forward: split by columns on 2 or 3 threads
    [InlineData(GemmVariant.NT, 64, 512, 512)]      // and backward
    [InlineData(GemmVariant.NN, 20, 100, 70)]       // columns split, the last slice ends in a partial panel
    [InlineData(GemmVariant.TN, 40, 300, 600)]      // columns split, several depth blocks
    public void PackedOperandGivesTheSameBitsAsPackingPerCall(GemmVariant v, int m, int n, int k)
    {
        using var plain = new SgemmEngine(1);
        using var e1 = new SgemmEngine(1);
        using var e2 = new SgemmEngine(2);
        using var e3 = new SgemmEngine(3);
        using var packed = new PackedMatrix();
        foreach (bool accumulate in new[] { false, true })
        {
            Operands o = Make(v, m, n, k, 3, 11);
            packed.Pack(v == GemmVariant.NT, n, k, o.B, o.Ldb);
            var want = (float[])o.C.Clone();
            var got1 = (float[])o.C.Clone();
            var got2 = (float[])o.C.Clone();
            var got3 = (float[])o.C.Clone();
            plain.Multiply(v, m, n, k, o.A, o.Lda, o.B, o.Ldb, want, o.Ldc, accumulate);
            e1.Multiply(v, m, o.A, o.Lda, packed, got1, o.Ldc, accumulate);
            e2.Multiply(v, m, o.A, o.Lda, packed, got2, o.Ldc, accumulate);
            e3.Multiply(v, m, o.A, o.Lda, packed, got3, o.Ldc, accumulate);
            AssertSameBits(want, got1, $"{v} acc={accumulate}, unpacked against packed");
            AssertSameBits(want, got2, $"{v} acc={accumulate}, unpacked against packed on 2 threads");
            AssertSameBits(want, got3, $"{v} acc={accumulate}, unpacked against packed on 3 threads");
        }
    }

    [Fact]
    public void PackedOperandIsCheckedAgainstTheVariant()
    {
        using var engine = new SgemmEngine(1);
        using var packed = new PackedMatrix();
        var c = new float[4 * 5];
        Assert.Throws<ArgumentException>(() => engine.Multiply(GemmVariant.NN, 4, new float[4 * 3], 3, packed, c, 5, false));
        packed.Pack(transposed: true, 5, 3, new float[5 * 3], 3);
        var e = Assert.Throws<ArgumentException>(() => engine.Multiply(GemmVariant.NN, 4, new float[4 * 3], 3, packed, c, 5, false));
        Assert.Contains("does not fit", e.Message);
        Assert.Throws<ArgumentException>(() => engine.Multiply(GemmVariant.NT, 4, new float[4 * 3], 3, packed, new float[3], 5, false));
        Assert.Throws<ArgumentException>(() => packed.Pack(transposed: false, 5, 3, new float[14], 5));
        engine.Multiply(GemmVariant.NT, 4, new float[4 * 3], 3, packed, c, 5, false);
        Assert.All(c, x => Assert.Equal(0f, x));
    }

    [Fact]
    public void SteadyStateAllocatesNothing()
    {
        using var e = new SgemmEngine(2);
        const int m = 150, n = 140, k = 130;
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        a.AsSpan().Fill(0.5f);
        b.AsSpan().Fill(0.25f);
        void Run()
        {
            e.Multiply(GemmVariant.NN, m, n, k, a, k, b, n, c, n, false);
            e.Multiply(GemmVariant.NT, m, n, k, a, k, b, k, c, n, true);
            e.Multiply(GemmVariant.TN, m, n, k, a, m, b, n, c, n, true);
            e.Multiply(GemmVariant.NN, 5, 5, 5, a, k, b, n, c, n, false);
        }
        for (int i = 0; i < 3; i++) Run();
        Thread.Sleep(50); // let the worker go to sleep once, so that blocking is part of the warm-up too
        Run();

        Assert.Equal(0, Allocations.OnThread(Run, repeats: 20));
        // The worker thread, in the same rounds-and-minimum way.
        long worker = long.MaxValue;
        for (int round = 0; round < 4 && worker != 0; round++)
        {
            long worker0 = e.WorkerAllocatedBytes;
            for (int i = 0; i < 20; i++) Run();
            worker = Math.Min(worker, e.WorkerAllocatedBytes - worker0);
        }
        Assert.Equal(0, worker);

        // Process-wide too. The test host allocates on its own threads now and then,
        // so take the best of a few short rounds.
        long best = long.MaxValue;
        for (int round = 0; round < 20 && best != 0; round++)
        {
            long total0 = GC.GetTotalAllocatedBytes(true);
            Run();
            best = Math.Min(best, GC.GetTotalAllocatedBytes(true) - total0);
        }
        Assert.Equal(0, best);
    }

    [Fact]
    public void ZeroKClearsOrKeepsC()
    {
        using var e = new SgemmEngine();
        var c = new float[] { 1, 2, 9, 3, 4, 9 };
        e.Multiply(GemmVariant.NN, 2, 2, 0, [], 0, [], 2, c, 3, true);
        Assert.Equal(new float[] { 1, 2, 9, 3, 4, 9 }, c);
        e.Multiply(GemmVariant.NN, 2, 2, 0, [], 0, [], 2, c, 3, false);
        Assert.Equal(new float[] { 0, 0, 9, 0, 0, 9 }, c);
    }

    [Fact]
    public void EmptyOutputIsANoOp()
    {
        using var e = new SgemmEngine(2);
        e.Multiply(GemmVariant.NT, 0, 5, 3, [], 3, new float[15], 3, [], 5, false);
        e.Multiply(GemmVariant.TN, 4, 0, 3, new float[12], 4, [], 0, [], 0, false);
    }

    [Fact]
    public void BadArgumentsThrow()
    {
        using var e = new SgemmEngine();
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        void Check(string param, string value, Action act)
        {
            var ex = Assert.ThrowsAny<ArgumentException>(act);
            Assert.Equal(param, ex.ParamName);
            Assert.Contains(value, ex.Message);
        }
        Check("m", "-1", () => e.Multiply(GemmVariant.NN, -1, 2, 3, a, 3, b, 2, c, 2, false));
        Check("n", "-2", () => e.Multiply(GemmVariant.NN, 2, -2, 3, a, 3, b, 2, c, 2, false));
        Check("k", "-3", () => e.Multiply(GemmVariant.NN, 2, 2, -3, a, 3, b, 2, c, 2, false));
        Check("lda", "2", () => e.Multiply(GemmVariant.NN, 2, 2, 3, a, 2, b, 2, c, 2, false));
        Check("lda", "1", () => e.Multiply(GemmVariant.TN, 2, 2, 3, a, 1, b, 2, c, 2, false));
        Check("ldb", "1", () => e.Multiply(GemmVariant.NN, 2, 2, 3, a, 3, b, 1, c, 2, false));
        Check("ldb", "2", () => e.Multiply(GemmVariant.NT, 2, 2, 3, a, 3, b, 2, c, 2, false));
        Check("ldc", "1", () => e.Multiply(GemmVariant.NN, 2, 2, 3, a, 3, b, 2, c, 1, false));
        Check("a", "5", () => e.Multiply(GemmVariant.NN, 2, 2, 3, new float[5], 3, b, 2, c, 2, false));
        Check("b", "5", () => e.Multiply(GemmVariant.NN, 2, 2, 3, a, 3, new float[5], 2, c, 2, false));
        Check("c", "3", () => e.Multiply(GemmVariant.NN, 2, 2, 3, a, 3, b, 2, new float[3], 2, false));
        Check("c", "4", () => e.Multiply(GemmVariant.NN, 2, 2, 3, a, 3, b, 2, c, 3, false));
        Check("variant", "7", () => e.Multiply((GemmVariant)7, 2, 2, 3, a, 3, b, 2, c, 2, false));
        Check("threads", "0", () => new SgemmEngine(0));
    }

    [Fact]
    public void DisposedEngineThrows()
    {
        var e = new SgemmEngine(2);
        e.Dispose();
        e.Dispose();
        Assert.Throws<ObjectDisposedException>(() => e.Multiply(GemmVariant.NN, 1, 1, 1, [1f], 1, [1f], 1, new float[1], 1, false));
    }
}
