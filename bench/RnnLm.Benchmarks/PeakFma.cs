using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Benchmarks;

/// <summary>
/// The peak fused multiply-add rate of one core at the widest vector width the CPU has: 24 independent accumulators
/// (more than FMA latency times FMA ports on current cores) updated in registers only, no memory traffic.
/// </summary>
public static class PeakFma
{
    private const int Accumulators = 24;

    /// <summary>GFLOP/s of one thread (2 flops per lane per FMA), best of five runs, and the lanes per FMA.</summary>
    public static (double Gflops, int Lanes) Measure(long iterations = 20_000_000)
    {
        int lanes = Avx512F.IsSupported ? 16 : Vector256.IsHardwareAccelerated && Fma.IsSupported ? 8 : 4;
        Run(lanes, 10_000);
        double best = double.MaxValue;
        for (int r = 0; r < 5; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Run(lanes, iterations);
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        return (2.0 * lanes * Accumulators * iterations / best / 1e9, lanes);
    }

    private static float Run(int lanes, long n) => lanes switch
    {
        16 => Loop<Vector512<float>, Fma512>(Vector512.Create(0.999999f), Vector512.Create(1e-7f), n),
        8 => Loop<Vector256<float>, Fma256>(Vector256.Create(0.999999f), Vector256.Create(1e-7f), n),
        _ => Loop<Vector128<float>, Fma128>(Vector128.Create(0.999999f), Vector128.Create(1e-7f), n),
    };

    private interface IFma<T>
    {
        static abstract T MultiplyAdd(T a, T m, T b);
        static abstract float Sum(T a);
    }

    private readonly struct Fma512 : IFma<Vector512<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> m, Vector512<float> b) => Avx512F.FusedMultiplyAdd(a, m, b);
        public static float Sum(Vector512<float> a) => Vector512.Sum(a);
    }

    private readonly struct Fma256 : IFma<Vector256<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> m, Vector256<float> b) => Fma.MultiplyAdd(a, m, b);
        public static float Sum(Vector256<float> a) => Vector256.Sum(a);
    }

    /// <summary>128-bit vectors (ARM64's AdvSimd, or x86 without AVX2): multiply-add as the runtime emits it.</summary>
    private readonly struct Fma128 : IFma<Vector128<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> m, Vector128<float> b) => Vector128.FusedMultiplyAdd(a, m, b);
        public static float Sum(Vector128<float> a) => Vector128.Sum(a);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop<T, TF>(T m, T b, long n) where T : struct where TF : IFma<T>
    {
        T a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        T a12 = m, a13 = m, a14 = m, a15 = m, a16 = m, a17 = m, a18 = m, a19 = m, a20 = m, a21 = m, a22 = m, a23 = m;
        for (long i = 0; i < n; i++)
        {
            a0 = TF.MultiplyAdd(a0, m, b); a1 = TF.MultiplyAdd(a1, m, b); a2 = TF.MultiplyAdd(a2, m, b); a3 = TF.MultiplyAdd(a3, m, b);
            a4 = TF.MultiplyAdd(a4, m, b); a5 = TF.MultiplyAdd(a5, m, b); a6 = TF.MultiplyAdd(a6, m, b); a7 = TF.MultiplyAdd(a7, m, b);
            a8 = TF.MultiplyAdd(a8, m, b); a9 = TF.MultiplyAdd(a9, m, b); a10 = TF.MultiplyAdd(a10, m, b); a11 = TF.MultiplyAdd(a11, m, b);
            a12 = TF.MultiplyAdd(a12, m, b); a13 = TF.MultiplyAdd(a13, m, b); a14 = TF.MultiplyAdd(a14, m, b); a15 = TF.MultiplyAdd(a15, m, b);
            a16 = TF.MultiplyAdd(a16, m, b); a17 = TF.MultiplyAdd(a17, m, b); a18 = TF.MultiplyAdd(a18, m, b); a19 = TF.MultiplyAdd(a19, m, b);
            a20 = TF.MultiplyAdd(a20, m, b); a21 = TF.MultiplyAdd(a21, m, b); a22 = TF.MultiplyAdd(a22, m, b); a23 = TF.MultiplyAdd(a23, m, b);
        }
        // Every accumulator feeds the result, so none of the chains can be dropped.
        return TF.Sum(a0) + TF.Sum(a1) + TF.Sum(a2) + TF.Sum(a3) + TF.Sum(a4) + TF.Sum(a5) + TF.Sum(a6) + TF.Sum(a7) +
            TF.Sum(a8) + TF.Sum(a9) + TF.Sum(a10) + TF.Sum(a11) + TF.Sum(a12) + TF.Sum(a13) + TF.Sum(a14) + TF.Sum(a15) +
            TF.Sum(a16) + TF.Sum(a17) + TF.Sum(a18) + TF.Sum(a19) + TF.Sum(a20) + TF.Sum(a21) + TF.Sum(a22) + TF.Sum(a23);
    }
}
