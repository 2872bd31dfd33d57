namespace RnnLm.Tensors;

/// <summary>
/// One SGEMM micro-kernel and what goes with it: its register tile (TileM × TileN, a whole number of the packed
/// layout's 6-row A panels and 16-column B panels), the kernel for one 6×16 unit (edge tiles and the rows or columns
/// a full tile does not cover), the packers and the row block MC. Chosen once per process (<see cref="KernelSet"/>),
/// so a new kernel is one more instance, not a flag passed through every call.
/// The packed layout (<see cref="SgemmKernels.MR"/>, <see cref="SgemmKernels.NR"/>, NC) and the k blocks
/// (<see cref="SgemmKernels.KBlock"/>) are shared by every kernel: each element of C is one chain of fused
/// multiply-adds from zero over a k block, in k order, added to C, so every kernel gives the same bits.
/// </summary>
internal sealed unsafe class GemmKernel
{
    /// <summary>Rows of C one call of <see cref="Full"/> computes (a multiple of MR).</summary>
    public int TileM { get; }

    /// <summary>Columns of C one call of <see cref="Full"/> computes (a multiple of NR).</summary>
    public int TileN { get; }

    /// <summary>Rows of A packed at a time (a multiple of TileM).</summary>
    public int MC { get; }

    /// <summary>
    /// How many bytes of packed B a block's tiles sweep at a time, each run of TileM rows (its A panels in L1) going
    /// across them while they stay in L2; 0, or a block no wider than that, walks each TileN column panel down the
    /// rows instead (that panel in L1). The order changes no value: each tile is still computed once per k block.
    /// </summary>
    public int ColumnBlockBytes { get; }

    /// <summary>
    /// A full TileM × TileN tile: (kc, A panels, distance between A panels, B panels, distance between B panels, C,
    /// ldc, overwrite). C = (or +=) the sum over p of A·B, accumulated in registers from zero.
    /// </summary>
    public delegate*<int, float*, nint, float*, nint, float*, nint, bool, void> Full { get; }

    /// <summary>One 6×16 unit: (kc, A panel, B panel, C, ldc, overwrite).</summary>
    public delegate*<int, float*, float*, float*, nint, bool, void> Unit { get; }

    /// <summary>
    /// A TileM × 16 tile for a block's last 16 columns when the block is not a whole number of TileN (kc, A panels,
    /// distance between A panels, B panel, C, ldc, overwrite); null where TileN is 16 (the unit covers it).
    /// </summary>
    public delegate*<int, float*, nint, float*, float*, nint, bool, void> Edge { get; }

    /// <summary>Packs A[ic:ic+mc, pc:pc+kc] of a row-major A (NN, NT) into 6-row panels: (a, lda, ic, pc, mc, kc, dst).</summary>
    public delegate*<float*, nint, int, int, int, int, float*, void> PackAN { get; }

    /// <summary>Packs op(B)[pc:pc+kc, jc:jc+nc] of a B stored [n, k] (NT) into 16-column panels: (b, ldb, pc, jc, kc, nc, dst).</summary>
    public delegate*<float*, nint, int, int, int, int, float*, void> PackBT { get; }

    public GemmKernel(int tileM, int tileN, int mc,
        delegate*<int, float*, nint, float*, nint, float*, nint, bool, void> full,
        delegate*<int, float*, float*, float*, nint, bool, void> unit,
        delegate*<float*, nint, int, int, int, int, float*, void> packAN,
        delegate*<float*, nint, int, int, int, int, float*, void> packBT,
        int columnBlockBytes = 0,
        delegate*<int, float*, nint, float*, float*, nint, bool, void> edge = null)
    {
        if (tileM % SgemmKernels.MR != 0 || tileN % SgemmKernels.NR != 0 || mc % tileM != 0)
            throw new ArgumentException($"a {tileM}x{tileN} tile with MC {mc} does not fit the {SgemmKernels.MR}x{SgemmKernels.NR} panels.");
        TileM = tileM; TileN = tileN; MC = mc; ColumnBlockBytes = columnBlockBytes;
        Full = full; Unit = unit; PackAN = packAN; PackBT = packBT; Edge = edge;
    }

    public override string ToString() => $"{TileM}x{TileN}";
}
