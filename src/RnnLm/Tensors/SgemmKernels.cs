using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>
/// Packing buffers for one thread of the blocked SGEMM. Native (unmanaged) memory, 64-byte aligned,
/// grown on demand and reused, so that a multiply allocates nothing on the managed heap.
/// </summary>
internal sealed unsafe class SgemmBuffers : IDisposable
{
    // Slack after each buffer: vector packing may write a few floats past the last panel.
    private const int Slack = 64;

    public float* A;
    public float* B;
    public float* Tile;
    private nuint _aCap, _bCap;

    public SgemmBuffers()
    {
        Tile = (float*)NativeMemory.AlignedAlloc((nuint)(SgemmKernels.MR * SgemmKernels.NR * sizeof(float)), 64);
    }

    public void Ensure(long aFloats, long bFloats)
    {
        if ((nuint)aFloats > _aCap)
        {
            NativeMemory.AlignedFree(A);
            A = null;
            _aCap = 0;
            A = (float*)NativeMemory.AlignedAlloc((nuint)(aFloats + Slack) * sizeof(float), 64);
            _aCap = (nuint)aFloats;
        }
        if ((nuint)bFloats > _bCap)
        {
            NativeMemory.AlignedFree(B);
            B = null;
            _bCap = 0;
            B = (float*)NativeMemory.AlignedAlloc((nuint)(bFloats + Slack) * sizeof(float), 64);
            _bCap = (nuint)bFloats;
        }
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(B);
        NativeMemory.AlignedFree(Tile);
        A = B = Tile = null;
        _aCap = _bCap = 0;
        GC.SuppressFinalize(this);
    }

    ~SgemmBuffers()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(B);
        NativeMemory.AlignedFree(Tile);
    }
}

/// <summary>
/// BLIS-style blocked SGEMM on packed panels (6-row A panels, 16-column B panels), one micro-kernel for all variants,
/// transposes done while packing. The kernel is the current path's <see cref="GemmKernel"/> (<see cref="KernelPath"/>).
/// Every element of C is computed with the same sequence of operations whatever the sub-problem it belongs to and
/// whatever the kernel: the k blocking depends on k only, each element is one FMA chain per k block in k order, and
/// edge tiles go through a 6x16 unit kernel on zero-padded panels.
/// </summary>
internal static unsafe class SgemmKernels
{
    public const int MR = 6;
    public const int NR = 16;
    /// <summary>Rows of A packed at a time, for every kernel (a multiple of each one's TileM).</summary>
    public const int MCDefault = 144;
    public const int NC = 4080;

    /// <summary>Size of the k blocks for a given k (depends on k only, which keeps results independent of the M/N split).</summary>
    public static int KBlock(int k)
    {
        int kcMax = k > 2048 ? 512 : 256;
        int blocks = (k + kcMax - 1) / kcMax;
        return (k + blocks - 1) / blocks;
    }

    internal static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    /// <summary>Floats that op(B) [k, n] takes once packed by <see cref="PackB"/>.</summary>
    public static long PackedBFloats(int n, int k) => (long)RoundUp(n, NR) * k;

    /// <summary>Where the packed panel of columns [jc, jc+nc) and depths [pc, pc+kc) starts in a packed B.</summary>
    private static nint PanelOffset(int jc, int pc, int nc, int k) => (nint)jc * k + (nint)RoundUp(nc, NR) * pc;

    /// <summary>
    /// Packs the whole of op(B) [k, n] (B stored [n, k] when transposed, NT; [k, n] otherwise) into the panels that
    /// <see cref="Gemm"/> would pack block by block, in the same order, so a multiply on them gives the same bits.
    /// </summary>
    public static void PackB(bool transposed, int n, int k, float* b, nint ldb, float* dst)
    {
        int kcb = KBlock(k);
        GemmKernel g = KernelPath.Set.Gemm;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += kcb)
            {
                int kc = Math.Min(kcb, k - pc);
                float* d = dst + PanelOffset(jc, pc, nc, k);
                if (transposed) g.PackBT(b, ldb, pc, jc, kc, nc, d);
                else PackBN(b, ldb, pc, jc, kc, nc, d);
            }
        }
    }

    /// <summary>C[m,n] (+)= op(A)·op(B) on raw pointers; k &gt; 0, m &gt; 0, n &gt; 0.</summary>
    public static void Gemm(SgemmBuffers buf, GemmVariant v, int m, int n, int k,
        float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool accumulate)
        => Gemm(buf, v, m, n, k, a, lda, b, ldb, null, c, ldc, accumulate);

    /// <summary>
    /// As above; when packedB is not null it holds op(B) packed by <see cref="PackB"/> and b is not read.
    /// With packedN &gt; 0, packedB holds a wider op(B) of packedN ≤ NC columns and this multiply uses its columns
    /// [packedCol0, packedCol0 + n), packedCol0 a multiple of NR (a slice of the columns for one thread).
    /// </summary>
    public static void Gemm(SgemmBuffers buf, GemmVariant v, int m, int n, int k,
        float* a, nint lda, float* b, nint ldb, float* packedB, float* c, nint ldc, bool accumulate,
        int packedCol0 = 0, int packedN = 0)
    {
        if (packedN > 0 && (packedB == null || packedN > NC || packedCol0 % NR != 0 || packedCol0 + n > packedN))
            throw new ArgumentException($"columns [{packedCol0}, {packedCol0 + n}) are not a panel-aligned slice of {packedN} packed columns.");
        int kcb = KBlock(k);
        int ncMax = Math.Min(NC, RoundUp(n, NR));
        GemmKernel g = KernelPath.Set.Gemm;
        int MC = g.MC;
        int mcMax = Math.Min(MC, RoundUp(m, MR));
        buf.Ensure((long)mcMax * kcb, packedB == null ? (long)ncMax * kcb : 0);
        float* pa = buf.A, pb = buf.B;

        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += kcb)
            {
                int kc = Math.Min(kcb, k - pc);
                bool overwrite = !accumulate && pc == 0;
                if (packedN > 0) pb = packedB + PanelOffset(0, pc, packedN, k) + (nint)packedCol0 * kc;
                else if (packedB != null) pb = packedB + PanelOffset(jc, pc, nc, k);
                else if (v == GemmVariant.NT) g.PackBT(b, ldb, pc, jc, kc, nc, pb);
                else PackBN(b, ldb, pc, jc, kc, nc, pb);
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    if (v == GemmVariant.TN) PackAT(a, lda, ic, pc, mc, kc, pa);
                    else g.PackAN(a, lda, ic, pc, mc, kc, pa);
                    Macro(g, mc, nc, kc, pa, pb, c + ic * ldc + jc, ldc, overwrite, buf.Tile);
                }
            }
        }
    }

    /// <summary>
    /// The width of the vocabulary slices of the output layer (<see cref="OutputGradients"/>): a multiple of NR and
    /// MR that divides NC, so a slice of a packed B never straddles two column blocks.
    /// </summary>
    public const int SliceWidth = 240;

    /// <summary>The vocabulary slices that hold a matrix of this many columns.</summary>
    public static int SliceCount(int columns) => (columns + SliceWidth - 1) / SliceWidth;

    /// <summary>
    /// Packs B [k, n] (row-major, NN) into panels with k blocks of <see cref="SliceWidth"/> rather than
    /// <see cref="KBlock"/>: the layout <see cref="OutputGradients"/> reads. Takes <see cref="PackedBFloats"/> floats.
    /// </summary>
    public static void PackBSliced(int n, int k, float* b, nint ldb, float* dst)
    {
        for (int pc = 0; pc < k; pc += SliceWidth)
            PackBN(b, ldb, pc, 0, Math.Min(SliceWidth, k - pc), n, dst + (nint)RoundUp(n, NR) * pc);
    }

    /// <summary>
    /// Where the columns [col0, col0 + cols) of a packed op(B) [k, n] lie: the start of their column block, that
    /// block's width, and the first column within it (for <see cref="Gemm"/>'s packedCol0 and packedN).
    /// </summary>
    public static float* ColumnBlock(float* packedB, int n, int k, int col0, int cols, out int blockN, out int col0InBlock)
    {
        int jc = col0 / NC * NC;
        blockN = Math.Min(NC, n - jc);
        col0InBlock = col0 - jc;
        if (col0InBlock % NR != 0 || col0InBlock + cols > blockN)
            throw new ArgumentException($"columns [{col0}, {col0 + cols}) are not a panel-aligned slice of one column block.");
        return packedB + PanelOffset(jc, 0, blockN, k);
    }

    /// <summary>
    /// The output layer's logits for one block of rows, written in vocabulary slices: G = X·Wᵀ, columns
    /// [s·SliceWidth, (s+1)·SliceWidth) stored as a [rows, SliceWidth] matrix at g + s·sliceStride. X [rows, K] has
    /// row stride ldx and is packed once for all the slices; packedWT is op(B) = Wᵀ [K, V] packed by
    /// <see cref="PackB"/> (transposed). The same bits as Gemm(NT, rows, V, K, X, W).
    /// </summary>
    public static void LogitsSliced(SgemmBuffers buf, int rows, int V, int K, float* x, nint ldx, float* packedWT,
        float* g, nint sliceStride)
    {
        float* pa = PackLogitsInput(buf, rows, K, x, ldx);
        LogitsSlices(buf.Tile, pa, rows, V, K, packedWT, g, sliceStride, 0, SliceCount(V));
    }

    /// <summary>Packs X [rows, K] into buf.A, k block after k block, for <see cref="LogitsSlices"/>; returns buf.A.</summary>
    public static float* PackLogitsInput(SgemmBuffers buf, int rows, int K, float* x, nint ldx)
    {
        int kcb = KBlock(K);
        int rowsPadded = RoundUp(rows, MR);
        buf.Ensure((long)rowsPadded * K, 0);
        float* pa = buf.A;
        GemmKernel gk = KernelPath.Set.Gemm;
        for (int pc = 0; pc < K; pc += kcb)
            gk.PackAN(x, ldx, 0, pc, rows, Math.Min(kcb, K - pc), pa + (nint)rowsPadded * pc);
        return pa;
    }

    /// <summary>The logits' slices [s0, s1) from X packed by <see cref="PackLogitsInput"/> (tile: a 6x16 scratch tile).</summary>
    public static void LogitsSlices(float* tile, float* pa, int rows, int V, int K, float* packedWT, float* g, nint sliceStride, int s0, int s1)
    {
        int kcb = KBlock(K);
        int rowsPadded = RoundUp(rows, MR);
        GemmKernel gk = KernelPath.Set.Gemm;
        int MC = gk.MC;
        for (int sl = s0; sl < s1; sl++)
        {
            int v0 = sl * SliceWidth, w = Math.Min(SliceWidth, V - v0);
            float* block = ColumnBlock(packedWT, V, K, v0, w, out int blockN, out int col0);
            for (int pc = 0; pc < K; pc += kcb)
            {
                int kc = Math.Min(kcb, K - pc);
                float* pb = block + PanelOffset(0, pc, blockN, K) + (nint)col0 * kc;
                // Blocks of MC rows, so the part of packed X in use stays in L2 beside the slice of W.
                for (int ic = 0; ic < rows; ic += MC)
                    Macro(gk, Math.Min(MC, rows - ic), w, kc, pa + (nint)rowsPadded * pc + (nint)ic * kc, pb,
                        g + sl * sliceStride + ic * SliceWidth, SliceWidth, pc == 0, tile);
            }
        }
    }

    /// <summary>
    /// The two gradient multiplies of the output layer for one block of rows: dW [V, H] += Gᵀ·X and dX [rows, H]
    /// (+)= G·W, with the logits gradient G stored in vocabulary slices: columns [s·SliceWidth, (s+1)·SliceWidth) of G
    /// are a [rows, SliceWidth] matrix at g + s·sliceStride (row stride SliceWidth). Each slice is read from memory
    /// once, as one contiguous block, for the weight gradient, and is still in cache when the input gradient reads
    /// it. X [rows, H] has row stride ldx; packedW is W [V, H] packed by <see cref="PackBSliced"/>(H, V); H ≤ NC.
    /// With accumulateDW false, dW = Gᵀ·X (what was there is not read).
    /// Bits: dW is the same as Gemm(TN, V, H, rows, G, X) accumulating into it (the same k blocks of rows in the same
    /// order); dX sums its V products in blocks of SliceWidth, which depend on V only. It runs
    /// <see cref="OutputGradientsSlice"/> slice after slice; the output layer runs that in groups of slices, on any thread.
    /// </summary>
    public static void OutputGradients(SgemmBuffers buf, int rows, int V, int H, float* g, nint sliceStride, float* x, nint ldx,
        float* packedW, float* dW, nint lddw, float* dX, nint lddx, bool accumulateDx, bool accumulateDW = true)
    {
        if (H > NC) throw new ArgumentException($"H must be at most {NC}, got {H}.", nameof(H));
        buf.Ensure(GradientScratchFloats(rows), PackedBFloats(H, rows));
        PackB(false, H, rows, x, ldx, buf.B);
        for (int sl = 0; sl < SliceCount(V); sl++)
            OutputGradientsSlice(buf, rows, V, H, g + sl * sliceStride, sl, buf.B, packedW, dW, lddw, accumulateDW, dX, lddx,
                overwriteDx: sl == 0 && !accumulateDx);
    }

    /// <summary>The floats of buf.A that <see cref="OutputGradientsSlice"/> packs into, for a block of this many rows.</summary>
    public static long GradientScratchFloats(int rows) => (long)SliceWidth * KBlock(rows) + (long)KernelPath.Set.Gemm.MC * SliceWidth;

    /// <summary>
    /// One vocabulary slice sl of <see cref="OutputGradients"/>, its slice of G at gs: dW's rows of the slice, then
    /// dX (+)= G_s·W_s (overwriting dX with overwriteDx), the slice read once for both. X is packed by
    /// PackB(false, H, rows) at packedX; buf.A holds at least <see cref="GradientScratchFloats"/> floats.
    /// </summary>
    public static void OutputGradientsSlice(SgemmBuffers buf, int rows, int V, int H, float* gs, int sl, float* packedX,
        float* packedW, float* dW, nint lddw, bool accumulateDW, float* dX, nint lddx, bool overwriteDx)
    {
        int kcb = KBlock(rows);
        int hp = RoundUp(H, NR);
        GemmKernel gk = KernelPath.Set.Gemm;
        int MC = gk.MC;
        float* paT = buf.A, paN = buf.A + (nint)SliceWidth * kcb;
        int v0 = sl * SliceWidth, w = Math.Min(SliceWidth, V - v0);
        for (int pc = 0; pc < rows; pc += kcb)
        {
            int kc = Math.Min(kcb, rows - pc);
            PackAT(gs, SliceWidth, 0, pc, w, kc, paT);
            Macro(gk, w, H, kc, paT, packedX + PanelOffset(0, pc, H, rows), dW + v0 * lddw, lddw, !accumulateDW && pc == 0, buf.Tile);
        }
        for (int ic = 0; ic < rows; ic += MC)
        {
            int mc = Math.Min(MC, rows - ic);
            gk.PackAN(gs, SliceWidth, ic, 0, mc, w, paN);
            Macro(gk, mc, H, w, paN, packedW + (nint)hp * v0, dX + ic * lddx, lddx, overwriteDx, buf.Tile);
        }
    }

    /// <summary>
    /// C[mc, nc] (+)= packed A · packed B for one block: full TileM x TileN tiles through the kernel's Full, the rows
    /// and columns they leave through its 6x16 Unit (an edge unit on a scratch tile). The full tiles are walked down
    /// each column panel (that panel of B in L1), or, in a block wider than the kernel's ColumnBlockBytes, across
    /// column sub-blocks of that size: a 32-column panel of B is 32 KB at kc 256, two thirds of a 48 KB L1, so
    /// walking down it lets A's stream evict it; across a sub-block the small A panels stay in L1, B comes from L2 and
    /// C is written along its rows. The order changes no value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro(GemmKernel g, int mc, int nc, int kc, float* pa, float* pb, float* c, nint ldc, bool overwrite, float* tile)
    {
        int tm = g.TileM, tn = g.TileN;
        int fullM = mc / tm * tm, fullN = nc / tn * tn;
        nint aStride = (nint)MR * kc, bStride = (nint)NR * kc;
        int subN = g.ColumnBlockBytes / (kc * sizeof(float)) / tn * tn;
        if (subN > 0 && nc > subN)
        {
            for (int j0 = 0; j0 < fullN; j0 += subN)
            {
                int j1 = Math.Min(fullN, j0 + subN);
                for (int ir = 0; ir < fullM; ir += tm)
                    for (int jr = j0; jr < j1; jr += tn)
                        g.Full(kc, pa + (nint)ir * kc, aStride, pb + (nint)jr * kc, bStride, c + ir * ldc + jr, ldc, overwrite);
            }
            RowEdges(g, mc, fullM, 0, fullN, kc, pa, pb, c, ldc, overwrite, tile);
        }
        else
            for (int jr = 0; jr < fullN; jr += tn)
            {
                float* bp = pb + (nint)jr * kc;
                for (int ir = 0; ir < fullM; ir += tm)
                    g.Full(kc, pa + (nint)ir * kc, aStride, bp, bStride, c + ir * ldc + jr, ldc, overwrite);
                RowEdges(g, mc, fullM, jr, jr + tn, kc, pa, pb, c, ldc, overwrite, tile);
            }
        for (int jr = fullN; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr), ir = 0;
            float* bp = pb + (nint)jr * kc;
            // A whole 16-column panel goes through the kernel's TileM x 16 edge, where it has one, TileM rows at a time.
            if (nr == NR && g.Edge != null)
                for (; ir + tm <= mc; ir += tm) g.Edge(kc, pa + (nint)ir * kc, aStride, bp, c + ir * ldc + jr, ldc, overwrite);
            for (; ir < mc; ir += MR) Tile(g, mc, ir, nr, kc, pa, bp, c + jr, ldc, overwrite, tile);
        }
    }

    /// <summary>The rows [fullM, mc) that the full tiles leave, under the columns [j0, j1) (whole 16-column panels), unit by unit.</summary>
    private static void RowEdges(GemmKernel g, int mc, int fullM, int j0, int j1, int kc, float* pa, float* pb, float* c, nint ldc,
        bool overwrite, float* tile)
    {
        for (int jr = j0; jr < j1; jr += NR)
            for (int i = fullM; i < mc; i += MR)
                Tile(g, mc, i, NR, kc, pa, pb + (nint)jr * kc, c + jr, ldc, overwrite, tile);
    }

    /// <summary>One 6x16 unit at rows ir of C (nr ≤ 16 columns); an edge unit goes through a scratch tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(GemmKernel g, int mc, int ir, int nr, int kc, float* pa, float* bp, float* c, nint ldc, bool overwrite, float* tile)
    {
        int mr = Math.Min(MR, mc - ir);
        float* ap = pa + (nint)ir * kc;
        float* cp = c + ir * ldc;
        if (mr == MR && nr == NR)
        {
            g.Unit(kc, ap, bp, cp, ldc, overwrite);
            return;
        }
        // Edge unit: the same kernel on a full 6x16 scratch tile, so the operation sequence is unchanged.
        if (!overwrite)
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++) tile[i * NR + j] = cp[i * ldc + j];
        g.Unit(kc, ap, bp, tile, NR, overwrite);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) cp[i * ldc + j] = tile[i * NR + j];
    }

    // ---------------------------------------------------------------- micro-kernels

    /// <summary>6x16 tile: C (= or +=) sum over p of a[p*6+i]·b[p*16+j]; accumulates in registers from zero over kc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void UnitAvx2(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        float* c0 = c, c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        Sse.Prefetch0(c0); Sse.Prefetch0(c0 + 15);
        Sse.Prefetch0(c1); Sse.Prefetch0(c1 + 15);
        Sse.Prefetch0(c2); Sse.Prefetch0(c2 + 15);
        Sse.Prefetch0(c3); Sse.Prefetch0(c3 + 15);
        Sse.Prefetch0(c4); Sse.Prefetch0(c4 + 15);
        Sse.Prefetch0(c5); Sse.Prefetch0(c5 + 15);

        Vector256<float> x00 = Vector256<float>.Zero, x01 = Vector256<float>.Zero;
        Vector256<float> x10 = Vector256<float>.Zero, x11 = Vector256<float>.Zero;
        Vector256<float> x20 = Vector256<float>.Zero, x21 = Vector256<float>.Zero;
        Vector256<float> x30 = Vector256<float>.Zero, x31 = Vector256<float>.Zero;
        Vector256<float> x40 = Vector256<float>.Zero, x41 = Vector256<float>.Zero;
        Vector256<float> x50 = Vector256<float>.Zero, x51 = Vector256<float>.Zero;

        int p = 0;
        for (; p + 1 < kc; p += 2)
        {
            Sse.Prefetch0(a + 96);
            Vector256<float> b0 = Avx.LoadVector256(b);
            Vector256<float> b1 = Avx.LoadVector256(b + 8);
            Vector256<float> av = Avx.BroadcastScalarToVector256(a);
            x00 = Fma.MultiplyAdd(av, b0, x00); x01 = Fma.MultiplyAdd(av, b1, x01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            x10 = Fma.MultiplyAdd(av, b0, x10); x11 = Fma.MultiplyAdd(av, b1, x11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            x20 = Fma.MultiplyAdd(av, b0, x20); x21 = Fma.MultiplyAdd(av, b1, x21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            x30 = Fma.MultiplyAdd(av, b0, x30); x31 = Fma.MultiplyAdd(av, b1, x31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            x40 = Fma.MultiplyAdd(av, b0, x40); x41 = Fma.MultiplyAdd(av, b1, x41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            x50 = Fma.MultiplyAdd(av, b0, x50); x51 = Fma.MultiplyAdd(av, b1, x51);

            b0 = Avx.LoadVector256(b + 16);
            b1 = Avx.LoadVector256(b + 24);
            av = Avx.BroadcastScalarToVector256(a + 6);
            x00 = Fma.MultiplyAdd(av, b0, x00); x01 = Fma.MultiplyAdd(av, b1, x01);
            av = Avx.BroadcastScalarToVector256(a + 7);
            x10 = Fma.MultiplyAdd(av, b0, x10); x11 = Fma.MultiplyAdd(av, b1, x11);
            av = Avx.BroadcastScalarToVector256(a + 8);
            x20 = Fma.MultiplyAdd(av, b0, x20); x21 = Fma.MultiplyAdd(av, b1, x21);
            av = Avx.BroadcastScalarToVector256(a + 9);
            x30 = Fma.MultiplyAdd(av, b0, x30); x31 = Fma.MultiplyAdd(av, b1, x31);
            av = Avx.BroadcastScalarToVector256(a + 10);
            x40 = Fma.MultiplyAdd(av, b0, x40); x41 = Fma.MultiplyAdd(av, b1, x41);
            av = Avx.BroadcastScalarToVector256(a + 11);
            x50 = Fma.MultiplyAdd(av, b0, x50); x51 = Fma.MultiplyAdd(av, b1, x51);

            a += 12;
            b += 32;
        }
        if (p < kc)
        {
            Vector256<float> b0 = Avx.LoadVector256(b);
            Vector256<float> b1 = Avx.LoadVector256(b + 8);
            Vector256<float> av = Avx.BroadcastScalarToVector256(a);
            x00 = Fma.MultiplyAdd(av, b0, x00); x01 = Fma.MultiplyAdd(av, b1, x01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            x10 = Fma.MultiplyAdd(av, b0, x10); x11 = Fma.MultiplyAdd(av, b1, x11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            x20 = Fma.MultiplyAdd(av, b0, x20); x21 = Fma.MultiplyAdd(av, b1, x21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            x30 = Fma.MultiplyAdd(av, b0, x30); x31 = Fma.MultiplyAdd(av, b1, x31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            x40 = Fma.MultiplyAdd(av, b0, x40); x41 = Fma.MultiplyAdd(av, b1, x41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            x50 = Fma.MultiplyAdd(av, b0, x50); x51 = Fma.MultiplyAdd(av, b1, x51);
        }

        if (overwrite)
        {
            Avx.Store(c0, x00); Avx.Store(c0 + 8, x01);
            Avx.Store(c1, x10); Avx.Store(c1 + 8, x11);
            Avx.Store(c2, x20); Avx.Store(c2 + 8, x21);
            Avx.Store(c3, x30); Avx.Store(c3 + 8, x31);
            Avx.Store(c4, x40); Avx.Store(c4 + 8, x41);
            Avx.Store(c5, x50); Avx.Store(c5 + 8, x51);
        }
        else
        {
            Avx.Store(c0, Avx.Add(Avx.LoadVector256(c0), x00)); Avx.Store(c0 + 8, Avx.Add(Avx.LoadVector256(c0 + 8), x01));
            Avx.Store(c1, Avx.Add(Avx.LoadVector256(c1), x10)); Avx.Store(c1 + 8, Avx.Add(Avx.LoadVector256(c1 + 8), x11));
            Avx.Store(c2, Avx.Add(Avx.LoadVector256(c2), x20)); Avx.Store(c2 + 8, Avx.Add(Avx.LoadVector256(c2 + 8), x21));
            Avx.Store(c3, Avx.Add(Avx.LoadVector256(c3), x30)); Avx.Store(c3 + 8, Avx.Add(Avx.LoadVector256(c3 + 8), x31));
            Avx.Store(c4, Avx.Add(Avx.LoadVector256(c4), x40)); Avx.Store(c4 + 8, Avx.Add(Avx.LoadVector256(c4 + 8), x41));
            Avx.Store(c5, Avx.Add(Avx.LoadVector256(c5), x50)); Avx.Store(c5 + 8, Avx.Add(Avx.LoadVector256(c5 + 8), x51));
        }
    }

    /// <summary>The avx2 path's full tile: one 6x16 unit.</summary>
    internal static void FullAvx2(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        => UnitAvx2(kc, a, b, c, ldc, overwrite);

    /// <summary>The avx512 path's full tile: 12x32 from two A panels and two B panels.</summary>
    internal static void Full512(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        => Kernel512(kc, a, a + aStride, b, b + bStride, c, ldc, overwrite);

    /// <summary>
    /// 12x32 tile on 512-bit registers: four 6x16 tiles at once, from two packed A panels (a0, a1: rows 0-5, 6-11) and
    /// two packed B panels (b0, b1: columns 0-15, 16-31) in <see cref="UnitAvx2"/>'s layout. Every element is the same
    /// chain as there (from zero, one FMA per p in order, then stored or added to C), so the bits are the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512(int kc, float* a0, float* a1, float* b0, float* b1, float* c, nint ldc, bool overwrite)
    {
        float* c0 = c + 0 * ldc; Sse.Prefetch0(c0); Sse.Prefetch0(c0 + 31);
        float* c1 = c + 1 * ldc; Sse.Prefetch0(c1); Sse.Prefetch0(c1 + 31);
        float* c2 = c + 2 * ldc; Sse.Prefetch0(c2); Sse.Prefetch0(c2 + 31);
        float* c3 = c + 3 * ldc; Sse.Prefetch0(c3); Sse.Prefetch0(c3 + 31);
        float* c4 = c + 4 * ldc; Sse.Prefetch0(c4); Sse.Prefetch0(c4 + 31);
        float* c5 = c + 5 * ldc; Sse.Prefetch0(c5); Sse.Prefetch0(c5 + 31);
        float* c6 = c + 6 * ldc; Sse.Prefetch0(c6); Sse.Prefetch0(c6 + 31);
        float* c7 = c + 7 * ldc; Sse.Prefetch0(c7); Sse.Prefetch0(c7 + 31);
        float* c8 = c + 8 * ldc; Sse.Prefetch0(c8); Sse.Prefetch0(c8 + 31);
        float* c9 = c + 9 * ldc; Sse.Prefetch0(c9); Sse.Prefetch0(c9 + 31);
        float* c10 = c + 10 * ldc; Sse.Prefetch0(c10); Sse.Prefetch0(c10 + 31);
        float* c11 = c + 11 * ldc; Sse.Prefetch0(c11); Sse.Prefetch0(c11 + 31);
        Vector512<float> x00 = Vector512<float>.Zero, x01 = Vector512<float>.Zero;
        Vector512<float> x10 = Vector512<float>.Zero, x11 = Vector512<float>.Zero;
        Vector512<float> x20 = Vector512<float>.Zero, x21 = Vector512<float>.Zero;
        Vector512<float> x30 = Vector512<float>.Zero, x31 = Vector512<float>.Zero;
        Vector512<float> x40 = Vector512<float>.Zero, x41 = Vector512<float>.Zero;
        Vector512<float> x50 = Vector512<float>.Zero, x51 = Vector512<float>.Zero;
        Vector512<float> x60 = Vector512<float>.Zero, x61 = Vector512<float>.Zero;
        Vector512<float> x70 = Vector512<float>.Zero, x71 = Vector512<float>.Zero;
        Vector512<float> x80 = Vector512<float>.Zero, x81 = Vector512<float>.Zero;
        Vector512<float> x90 = Vector512<float>.Zero, x91 = Vector512<float>.Zero;
        Vector512<float> x100 = Vector512<float>.Zero, x101 = Vector512<float>.Zero;
        Vector512<float> x110 = Vector512<float>.Zero, x111 = Vector512<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> v0 = Vector512.Load(b0), v1 = Vector512.Load(b1);
            Vector512<float> av;
            av = Vector512.Create(a0[0]); x00 = Avx512F.FusedMultiplyAdd(av, v0, x00); x01 = Avx512F.FusedMultiplyAdd(av, v1, x01);
            av = Vector512.Create(a0[1]); x10 = Avx512F.FusedMultiplyAdd(av, v0, x10); x11 = Avx512F.FusedMultiplyAdd(av, v1, x11);
            av = Vector512.Create(a0[2]); x20 = Avx512F.FusedMultiplyAdd(av, v0, x20); x21 = Avx512F.FusedMultiplyAdd(av, v1, x21);
            av = Vector512.Create(a0[3]); x30 = Avx512F.FusedMultiplyAdd(av, v0, x30); x31 = Avx512F.FusedMultiplyAdd(av, v1, x31);
            av = Vector512.Create(a0[4]); x40 = Avx512F.FusedMultiplyAdd(av, v0, x40); x41 = Avx512F.FusedMultiplyAdd(av, v1, x41);
            av = Vector512.Create(a0[5]); x50 = Avx512F.FusedMultiplyAdd(av, v0, x50); x51 = Avx512F.FusedMultiplyAdd(av, v1, x51);
            av = Vector512.Create(a1[0]); x60 = Avx512F.FusedMultiplyAdd(av, v0, x60); x61 = Avx512F.FusedMultiplyAdd(av, v1, x61);
            av = Vector512.Create(a1[1]); x70 = Avx512F.FusedMultiplyAdd(av, v0, x70); x71 = Avx512F.FusedMultiplyAdd(av, v1, x71);
            av = Vector512.Create(a1[2]); x80 = Avx512F.FusedMultiplyAdd(av, v0, x80); x81 = Avx512F.FusedMultiplyAdd(av, v1, x81);
            av = Vector512.Create(a1[3]); x90 = Avx512F.FusedMultiplyAdd(av, v0, x90); x91 = Avx512F.FusedMultiplyAdd(av, v1, x91);
            av = Vector512.Create(a1[4]); x100 = Avx512F.FusedMultiplyAdd(av, v0, x100); x101 = Avx512F.FusedMultiplyAdd(av, v1, x101);
            av = Vector512.Create(a1[5]); x110 = Avx512F.FusedMultiplyAdd(av, v0, x110); x111 = Avx512F.FusedMultiplyAdd(av, v1, x111);
            a0 += 6; a1 += 6; b0 += 16; b1 += 16;
        }
        Store512(c0, x00, overwrite); Store512(c0 + 16, x01, overwrite);
        Store512(c1, x10, overwrite); Store512(c1 + 16, x11, overwrite);
        Store512(c2, x20, overwrite); Store512(c2 + 16, x21, overwrite);
        Store512(c3, x30, overwrite); Store512(c3 + 16, x31, overwrite);
        Store512(c4, x40, overwrite); Store512(c4 + 16, x41, overwrite);
        Store512(c5, x50, overwrite); Store512(c5 + 16, x51, overwrite);
        Store512(c6, x60, overwrite); Store512(c6 + 16, x61, overwrite);
        Store512(c7, x70, overwrite); Store512(c7 + 16, x71, overwrite);
        Store512(c8, x80, overwrite); Store512(c8 + 16, x81, overwrite);
        Store512(c9, x90, overwrite); Store512(c9 + 16, x91, overwrite);
        Store512(c10, x100, overwrite); Store512(c10 + 16, x101, overwrite);
        Store512(c11, x110, overwrite); Store512(c11 + 16, x111, overwrite);
    }

    /// <summary>The avx512 path's edge: a 12x16 tile from two A panels and one B panel.</summary>
    internal static void Edge512(int kc, float* a, nint aStride, float* b, float* c, nint ldc, bool overwrite)
        => Kernel512x16(kc, a, a + aStride, b, c, ldc, overwrite);

    /// <summary>
    /// 12x16 tile on 512-bit registers: the columns a 12x32 tile leaves when a block is 16 wider than a multiple of 32.
    /// One B panel and twelve accumulators, so it runs at nearly the full tile's rate where two 6x16 units on 256-bit
    /// registers run at half. Every element is the same chain as in <see cref="UnitAvx2"/>, so the bits are the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x16(int kc, float* a0, float* a1, float* b, float* c, nint ldc, bool overwrite)
    {
        float* c0 = c + 0 * ldc; Sse.Prefetch0(c0); Sse.Prefetch0(c0 + 15);
        float* c1 = c + 1 * ldc; Sse.Prefetch0(c1); Sse.Prefetch0(c1 + 15);
        float* c2 = c + 2 * ldc; Sse.Prefetch0(c2); Sse.Prefetch0(c2 + 15);
        float* c3 = c + 3 * ldc; Sse.Prefetch0(c3); Sse.Prefetch0(c3 + 15);
        float* c4 = c + 4 * ldc; Sse.Prefetch0(c4); Sse.Prefetch0(c4 + 15);
        float* c5 = c + 5 * ldc; Sse.Prefetch0(c5); Sse.Prefetch0(c5 + 15);
        float* c6 = c + 6 * ldc; Sse.Prefetch0(c6); Sse.Prefetch0(c6 + 15);
        float* c7 = c + 7 * ldc; Sse.Prefetch0(c7); Sse.Prefetch0(c7 + 15);
        float* c8 = c + 8 * ldc; Sse.Prefetch0(c8); Sse.Prefetch0(c8 + 15);
        float* c9 = c + 9 * ldc; Sse.Prefetch0(c9); Sse.Prefetch0(c9 + 15);
        float* c10 = c + 10 * ldc; Sse.Prefetch0(c10); Sse.Prefetch0(c10 + 15);
        float* c11 = c + 11 * ldc; Sse.Prefetch0(c11); Sse.Prefetch0(c11 + 15);
        Vector512<float> x0 = Vector512<float>.Zero, x1 = Vector512<float>.Zero, x2 = Vector512<float>.Zero;
        Vector512<float> x3 = Vector512<float>.Zero, x4 = Vector512<float>.Zero, x5 = Vector512<float>.Zero;
        Vector512<float> x6 = Vector512<float>.Zero, x7 = Vector512<float>.Zero, x8 = Vector512<float>.Zero;
        Vector512<float> x9 = Vector512<float>.Zero, x10 = Vector512<float>.Zero, x11 = Vector512<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> v = Vector512.Load(b);
            x0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a0[0]), v, x0);
            x1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a0[1]), v, x1);
            x2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a0[2]), v, x2);
            x3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a0[3]), v, x3);
            x4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a0[4]), v, x4);
            x5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a0[5]), v, x5);
            x6 = Avx512F.FusedMultiplyAdd(Vector512.Create(a1[0]), v, x6);
            x7 = Avx512F.FusedMultiplyAdd(Vector512.Create(a1[1]), v, x7);
            x8 = Avx512F.FusedMultiplyAdd(Vector512.Create(a1[2]), v, x8);
            x9 = Avx512F.FusedMultiplyAdd(Vector512.Create(a1[3]), v, x9);
            x10 = Avx512F.FusedMultiplyAdd(Vector512.Create(a1[4]), v, x10);
            x11 = Avx512F.FusedMultiplyAdd(Vector512.Create(a1[5]), v, x11);
            a0 += 6; a1 += 6; b += 16;
        }
        Store512(c0, x0, overwrite); Store512(c1, x1, overwrite); Store512(c2, x2, overwrite);
        Store512(c3, x3, overwrite); Store512(c4, x4, overwrite); Store512(c5, x5, overwrite);
        Store512(c6, x6, overwrite); Store512(c7, x7, overwrite); Store512(c8, x8, overwrite);
        Store512(c9, x9, overwrite); Store512(c10, x10, overwrite); Store512(c11, x11, overwrite);
    }

    /// <summary>C = x, or C += x (the sum added to what C held, as every kernel adds it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> x, bool overwrite) =>
        Vector512.Store(overwrite ? x : Avx512F.Add(Vector512.Load(c), x), c);

    /// <summary>The v128 path's tile: one 6x16 unit.</summary>
    internal static void Full128(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        => Unit128(kc, a, b, c, ldc, overwrite);

    /// <summary>
    /// 6x16 unit on 128-bit vectors as two 6x8 halves (12 accumulators, 2 B registers and a broadcast: 15 registers,
    /// which fit x86's 16 xmm; ARM64 has 32). Vector128.FusedMultiplyAdd is one instruction on ARM64 and on x86 with
    /// FMA; elsewhere the runtime emulates it exactly, slowly.
    /// </summary>
    internal static void Unit128(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        Half128(kc, a, b, c, ldc, overwrite);
        Half128(kc, a, b + 8, c + 8, ldc, overwrite);
    }

    /// <summary>Columns [0, 8) of a 6x16 unit whose B panel starts at b (16 floats per p).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Half128(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        Vector128<float> x00 = default, x01 = default, x10 = default, x11 = default, x20 = default, x21 = default;
        Vector128<float> x30 = default, x31 = default, x40 = default, x41 = default, x50 = default, x51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector128<float> b0 = Vector128.Load(b), b1 = Vector128.Load(b + 4);
            Vector128<float> av = Vector128.Create(a[0]);
            x00 = Vector128.FusedMultiplyAdd(av, b0, x00); x01 = Vector128.FusedMultiplyAdd(av, b1, x01);
            av = Vector128.Create(a[1]);
            x10 = Vector128.FusedMultiplyAdd(av, b0, x10); x11 = Vector128.FusedMultiplyAdd(av, b1, x11);
            av = Vector128.Create(a[2]);
            x20 = Vector128.FusedMultiplyAdd(av, b0, x20); x21 = Vector128.FusedMultiplyAdd(av, b1, x21);
            av = Vector128.Create(a[3]);
            x30 = Vector128.FusedMultiplyAdd(av, b0, x30); x31 = Vector128.FusedMultiplyAdd(av, b1, x31);
            av = Vector128.Create(a[4]);
            x40 = Vector128.FusedMultiplyAdd(av, b0, x40); x41 = Vector128.FusedMultiplyAdd(av, b1, x41);
            av = Vector128.Create(a[5]);
            x50 = Vector128.FusedMultiplyAdd(av, b0, x50); x51 = Vector128.FusedMultiplyAdd(av, b1, x51);
            a += MR;
            b += NR;
        }
        Store128(c, x00, x01, overwrite);
        Store128(c + ldc, x10, x11, overwrite);
        Store128(c + 2 * ldc, x20, x21, overwrite);
        Store128(c + 3 * ldc, x30, x31, overwrite);
        Store128(c + 4 * ldc, x40, x41, overwrite);
        Store128(c + 5 * ldc, x50, x51, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store128(float* c, Vector128<float> lo, Vector128<float> hi, bool overwrite)
    {
        if (!overwrite) { lo = Vector128.Load(c) + lo; hi = Vector128.Load(c + 4) + hi; }
        lo.Store(c);
        hi.Store(c + 4);
    }

    /// <summary>The scalar path's tile: one 6x16 unit.</summary>
    internal static void FullScalar(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        => UnitScalar(kc, a, b, c, ldc, overwrite);

    /// <summary>6x16 unit one element at a time, each a chain of MathF.FusedMultiplyAdd in k order (4 rows at once).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void UnitScalar(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        for (int j = 0; j < NR; j++)
        {
            float* bj = b + j;
            float x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0, x5 = 0;
            float* ap = a;
            for (int p = 0; p < kc; p++)
            {
                float bv = bj[(nint)p * NR];
                x0 = MathF.FusedMultiplyAdd(ap[0], bv, x0);
                x1 = MathF.FusedMultiplyAdd(ap[1], bv, x1);
                x2 = MathF.FusedMultiplyAdd(ap[2], bv, x2);
                x3 = MathF.FusedMultiplyAdd(ap[3], bv, x3);
                x4 = MathF.FusedMultiplyAdd(ap[4], bv, x4);
                x5 = MathF.FusedMultiplyAdd(ap[5], bv, x5);
                ap += MR;
            }
            float* cj = c + j;
            if (overwrite)
            {
                cj[0] = x0; cj[ldc] = x1; cj[2 * ldc] = x2; cj[3 * ldc] = x3; cj[4 * ldc] = x4; cj[5 * ldc] = x5;
            }
            else
            {
                cj[0] += x0; cj[ldc] += x1; cj[2 * ldc] += x2; cj[3 * ldc] += x3; cj[4 * ldc] += x4; cj[5 * ldc] += x5;
            }
        }
    }

    // ---------------------------------------------------------------- packing

    /// <summary>Packs B[pc:pc+kc, jc:jc+nc] of a row-major [k,n] B into 16-column panels (p-major, 16 floats per p).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBN(float* b, nint ldb, int pc, int jc, int kc, int nc, float* dst)
    {
        for (int jp = 0; jp < nc; jp += NR)
        {
            int nr = Math.Min(NR, nc - jp);
            float* d = dst + (nint)jp * kc;
            float* s = b + pc * ldb + jc + jp;
            if (nr == NR)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* sp = s + p * ldb;
                    Vector128.Store(Vector128.Load(sp), d);
                    Vector128.Store(Vector128.Load(sp + 4), d + 4);
                    Vector128.Store(Vector128.Load(sp + 8), d + 8);
                    Vector128.Store(Vector128.Load(sp + 12), d + 12);
                    d += NR;
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    float* sp = s + p * ldb;
                    int j = 0;
                    for (; j < nr; j++) d[j] = sp[j];
                    for (; j < NR; j++) d[j] = 0f;
                    d += NR;
                }
            }
        }
    }

    /// <summary>Packs op(B)[pc:pc+kc, jc:jc+nc] where B is stored row-major [n,k] (NT), using 8x8 AVX transposes.</summary>
    internal static void PackBTAvx2(float* b, nint ldb, int pc, int jc, int kc, int nc, float* dst) => PackBT(b, ldb, pc, jc, kc, nc, dst, true);

    /// <summary><see cref="PackBTAvx2"/> one element at a time.</summary>
    internal static void PackBTPortable(float* b, nint ldb, int pc, int jc, int kc, int nc, float* dst) => PackBT(b, ldb, pc, jc, kc, nc, dst, false);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBT(float* b, nint ldb, int pc, int jc, int kc, int nc, float* dst, bool avx)
    {
        for (int jp = 0; jp < nc; jp += NR)
        {
            int nr = Math.Min(NR, nc - jp);
            float* d = dst + (nint)jp * kc;
            float* s = b + (jc + jp) * ldb + pc;
            int p = 0;
            if (nr == NR && avx)
                for (; p + 8 <= kc; p += 8)
                {
                    Transpose8x8Store(s + p, ldb, d + (nint)p * NR, NR);
                    Transpose8x8Store(s + 8 * ldb + p, ldb, d + (nint)p * NR + 8, NR);
                }
            PackColumns(s, ldb, nr, NR, p, kc, d);
        }
    }

    /// <summary>
    /// Columns [from, kc) of rows rows (a ld apart from s) into a panel of width floats per column at d (column p at
    /// d + p·width), the rows past rows zeroed: what the transposing packers do one element at a time.
    /// </summary>
    private static void PackColumns(float* s, nint ld, int rows, int width, int from, int kc, float* d)
    {
        for (int p = from; p < kc; p++)
        {
            float* dp = d + (nint)p * width;
            int i = 0;
            for (; i < rows; i++) dp[i] = s[i * ld + p];
            for (; i < width; i++) dp[i] = 0f;
        }
    }

    /// <summary>Packs A[ic:ic+mc, pc:pc+kc] of a row-major [m,k] A (NN, NT) into 6-row panels (6 floats per p), with AVX transposes.</summary>
    internal static void PackANAvx2(float* a, nint lda, int ic, int pc, int mc, int kc, float* dst) => PackAN(a, lda, ic, pc, mc, kc, dst, true);

    /// <summary><see cref="PackANAvx2"/> one element at a time.</summary>
    internal static void PackANPortable(float* a, nint lda, int ic, int pc, int mc, int kc, float* dst) => PackAN(a, lda, ic, pc, mc, kc, dst, false);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackAN(float* a, nint lda, int ic, int pc, int mc, int kc, float* dst, bool avx)
    {
        // Panels are written in order; the 8-wide stores spill 2 floats into the next slot, which is rewritten later
        // (or lands in the buffer slack after the last panel).
        for (int ip = 0; ip < mc; ip += MR)
        {
            int mr = Math.Min(MR, mc - ip);
            float* d = dst + (nint)ip * kc;
            float* s = a + (ic + ip) * lda + pc;
            int p = 0;
            if (mr == MR && avx)
            {
                float* s0 = s, s1 = s + lda, s2 = s1 + lda, s3 = s2 + lda, s4 = s3 + lda, s5 = s4 + lda;
                for (; p + 8 <= kc; p += 8)
                {
                    Vector256<float> r0 = Avx.LoadVector256(s0 + p), r1 = Avx.LoadVector256(s1 + p);
                    Vector256<float> r2 = Avx.LoadVector256(s2 + p), r3 = Avx.LoadVector256(s3 + p);
                    Vector256<float> r4 = Avx.LoadVector256(s4 + p), r5 = Avx.LoadVector256(s5 + p);
                    Vector256<float> r6 = Vector256<float>.Zero, r7 = Vector256<float>.Zero;
                    Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
                    float* dp = d + (nint)p * MR;
                    Avx.Store(dp, r0);
                    Avx.Store(dp + 6, r1);
                    Avx.Store(dp + 12, r2);
                    Avx.Store(dp + 18, r3);
                    Avx.Store(dp + 24, r4);
                    Avx.Store(dp + 30, r5);
                    Avx.Store(dp + 36, r6);
                    Avx.Store(dp + 42, r7);
                }
            }
            PackColumns(s, lda, mr, MR, p, kc, d);
        }
    }

    /// <summary>
    /// Packs op(A)[ic:ic+mc, pc:pc+kc] where A is stored row-major [k,m] (TN). Walks the source row by row
    /// (one row of the source is one p), which keeps the TLB happy when the row stride is large.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackAT(float* a, nint lda, int ic, int pc, int mc, int kc, float* dst)
    {
        int full = mc / MR;
        int rem = mc - full * MR;
        nint panel = (nint)MR * kc;
        for (int p = 0; p < kc; p++)
        {
            float* s = a + (pc + p) * lda + ic;
            float* d = dst + (nint)p * MR;
            int q = 0;
            // Before the last p, 8 floats are copied for 6: the 2 extra are read from within A (this row's next
            // columns, or the next row) and land in this panel's next slot, which the next p rewrites.
            if (Vector256.IsHardwareAccelerated && p < kc - 1)
                for (; q < full; q++, s += MR, d += panel) Vector256.Store(Vector256.Load(s), d);
            for (; q < full; q++)
            {
                Vector128.Store(Vector128.Load(s), d);
                d[4] = s[4];
                d[5] = s[5];
                s += MR;
                d += panel;
            }
            if (rem > 0)
            {
                int i = 0;
                for (; i < rem; i++) d[i] = s[i];
                for (; i < MR; i++) d[i] = 0f;
            }
        }
    }

    /// <summary>Transposes 8 rows (stride ld) of 8 floats and stores the 8 columns at dst + t*ldd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8Store(float* s, nint ld, float* dst, nint ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + ld);
        Vector256<float> r2 = Avx.LoadVector256(s + 2 * ld), r3 = Avx.LoadVector256(s + 3 * ld);
        Vector256<float> r4 = Avx.LoadVector256(s + 4 * ld), r5 = Avx.LoadVector256(s + 5 * ld);
        Vector256<float> r6 = Avx.LoadVector256(s + 6 * ld), r7 = Avx.LoadVector256(s + 7 * ld);
        Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        Avx.Store(dst, r0);
        Avx.Store(dst + ldd, r1);
        Avx.Store(dst + 2 * ldd, r2);
        Avx.Store(dst + 3 * ldd, r3);
        Avx.Store(dst + 4 * ldd, r4);
        Avx.Store(dst + 5 * ldd, r5);
        Avx.Store(dst + 6 * ldd, r6);
        Avx.Store(dst + 7 * ldd, r7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(u0, u4, 0x20);
        r1 = Avx.Permute2x128(u1, u5, 0x20);
        r2 = Avx.Permute2x128(u2, u6, 0x20);
        r3 = Avx.Permute2x128(u3, u7, 0x20);
        r4 = Avx.Permute2x128(u0, u4, 0x31);
        r5 = Avx.Permute2x128(u1, u5, 0x31);
        r6 = Avx.Permute2x128(u2, u6, 0x31);
        r7 = Avx.Permute2x128(u3, u7, 0x31);
    }
}
