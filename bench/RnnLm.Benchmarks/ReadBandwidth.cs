using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace RnnLm.Benchmarks;

/// <summary>
/// How fast one thread streams a buffer of a given size that it read just before (so from whichever cache level
/// holds that size): the ceiling for generation, which reads the whole head once per token. Eight independent vector
/// sums, so the loop waits on memory, not on add latency.
/// </summary>
public static unsafe class ReadBandwidth
{
    /// <summary>GB/s (10⁹ bytes) of one thread reading bytes of memory, best and median of reps passes after a warm pass.</summary>
    public static (double Best, double Median) Measure(long bytes, int reps = 20)
    {
        long floats = bytes / sizeof(float) / 128 * 128;
        float* p = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        try
        {
            for (long i = 0; i < floats; i++) p[i] = 1e-9f * (i % 1000);
            float sink = Sum(p, floats);
            var times = new double[reps];
            for (int r = 0; r < reps; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                sink += Sum(p, floats);
                times[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }
            GC.KeepAlive(sink);
            Array.Sort(times);
            double gb = floats * sizeof(float) / 1e9;
            return (gb / times[0], gb / times[reps / 2]);
        }
        finally { NativeMemory.AlignedFree(p); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Sum(float* p, long n)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i <= n - 128; i += 128)
            {
                a0 += Vector512.Load(p + i);
                a1 += Vector512.Load(p + i + 16);
                a2 += Vector512.Load(p + i + 32);
                a3 += Vector512.Load(p + i + 48);
                a4 += Vector512.Load(p + i + 64);
                a5 += Vector512.Load(p + i + 80);
                a6 += Vector512.Load(p + i + 96);
                a7 += Vector512.Load(p + i + 112);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (long i = 0; i <= n - 32; i += 32)
        {
            b0 += Vector256.Load(p + i);
            b1 += Vector256.Load(p + i + 8);
            b2 += Vector256.Load(p + i + 16);
            b3 += Vector256.Load(p + i + 24);
        }
        return Vector256.Sum(b0 + b1 + b2 + b3);
    }
}
