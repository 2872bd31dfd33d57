using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>
/// A kernel path: its name, the SGEMM kernel (<see cref="GemmKernel"/>) and the width of the element-wise kernels
/// (<see cref="FastMath"/>, AdamW). Four exist, widest first: avx512 (12×32 tile on 32 zmm registers, 16 lanes; a
/// block wider than 384 KB of packed B is swept in column sub-blocks, see <see cref="GemmKernel.ColumnBlockBytes"/>),
/// avx2 (6×16 on ymm, 8 lanes), v128 (Vector128: ARM64's AdvSimd and x86's SSE, 6×16 as two 6×8 halves, 4 lanes)
/// and scalar (MathF.FusedMultiplyAdd, 1 lane). All give the same bits.
/// </summary>
internal sealed unsafe class KernelSet
{
    public string Name { get; }

    /// <summary>Lanes of the element-wise kernels: 16, 8, 4 or 1.</summary>
    public int Width { get; }

    public GemmKernel Gemm { get; }

    /// <summary>Whether this CPU and runtime can run the path.</summary>
    public bool IsSupported { get; }

    /// <summary>What the path needs, for messages.</summary>
    public string Needs { get; }

    private KernelSet(string name, int width, GemmKernel gemm, bool supported, string needs)
    {
        Name = name; Width = width; Gemm = gemm; IsSupported = supported; Needs = needs;
    }

    /// <summary>Every path, widest first.</summary>
    public static IReadOnlyList<KernelSet> All { get; } =
    [
        new("avx512", 16, new GemmKernel(2 * SgemmKernels.MR, 2 * SgemmKernels.NR, SgemmKernels.MCDefault,
                &SgemmKernels.Full512, &SgemmKernels.UnitAvx2, &SgemmKernels.PackANAvx2, &SgemmKernels.PackBTAvx2,
                columnBlockBytes: 384 << 10, edge: &SgemmKernels.Edge512),
            Avx512F.IsSupported && Avx2.IsSupported && Fma.IsSupported, "AVX-512F, AVX2 and FMA"),
        new("avx2", 8, new GemmKernel(SgemmKernels.MR, SgemmKernels.NR, SgemmKernels.MCDefault,
                &SgemmKernels.FullAvx2, &SgemmKernels.UnitAvx2, &SgemmKernels.PackANAvx2, &SgemmKernels.PackBTAvx2),
            Avx2.IsSupported && Fma.IsSupported, "AVX2 and FMA"),
        new("v128", 4, new GemmKernel(SgemmKernels.MR, SgemmKernels.NR, SgemmKernels.MCDefault,
                &SgemmKernels.Full128, &SgemmKernels.Unit128, &SgemmKernels.PackANPortable, &SgemmKernels.PackBTPortable),
            Vector128.IsHardwareAccelerated, "128-bit vectors (SSE2 or AdvSimd)"),
        new("scalar", 1, new GemmKernel(SgemmKernels.MR, SgemmKernels.NR, SgemmKernels.MCDefault,
                &SgemmKernels.FullScalar, &SgemmKernels.UnitScalar, &SgemmKernels.PackANPortable, &SgemmKernels.PackBTPortable),
            true, "nothing"),
    ];
}
