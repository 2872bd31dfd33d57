using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Numerics;
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

    /// <summary>The sum of p[0..n) in eight vector sums (n a multiple of 8 vectors), at the runtime's Vector width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Sum(float* p, long n)
    {
        int w = Vector<float>.Count;
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (long i = 0; i <= n - 8 * w; i += 8 * w)
        {
            a0 += Vector.Load(p + i); a1 += Vector.Load(p + i + w); a2 += Vector.Load(p + i + 2 * w); a3 += Vector.Load(p + i + 3 * w);
            a4 += Vector.Load(p + i + 4 * w); a5 += Vector.Load(p + i + 5 * w); a6 += Vector.Load(p + i + 6 * w); a7 += Vector.Load(p + i + 7 * w);
        }
        return Vector.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
    }
}
