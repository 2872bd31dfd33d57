using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Running;
using RnnLm.Benchmarks;
using RnnLm.Tensors;

// `gemm [case...] [--threads 1,2] [--reps N]`: quick Stopwatch timing, one JSON line per case, each with its share of
// the core's peak FMA rate (measured first by PeakFma, a loop of independent FMAs in registers, times the threads).
// `read [--mb 10.24,1]`: one thread's read bandwidth from a buffer of each size, warm (the f32 head at the ptb sizes
// is 10.24 MB: a token reads it all, so GB/s / 0.01024 is the most float32 tokens/s the head lets one thread make).
// Anything else goes to BenchmarkDotNet (e.g. `--filter *Gemm*`). RNNLM_KERNELS=avx512|avx2|v128|scalar forces a path.
if (Environment.GetEnvironmentVariable("RNNLM_KERNELS") is { Length: > 0 } path) KernelPath.Force(path);
if (args.Length > 0 && args[0] == "gemm")
{
    QuickGemm(args.Skip(1).ToArray());
    return;
}
if (args.Length > 0 && args[0] == "read")
{
    QuickRead(args.Skip(1).ToArray());
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args);

static void QuickGemm(string[] args)
{
    int[] threads = [1, 2];
    int reps = 5;
    var names = new List<string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (args[i] == "--threads") threads = args[++i].Split(',').Select(int.Parse).ToArray();
        else if (args[i] == "--reps") reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
        else names.Add(args[i]);
    }
    IEnumerable<GemmCase> cases = names.Count == 0 ? GemmCase.All : names.Select(GemmCase.Find);
    var (peak, lanes) = PeakFma.Measure();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"impl\":\"RnnLm\",\"case\":\"peak-fma\",\"lanes\":{lanes},\"threads\":1,\"gflops\":{peak:F1}}}"));
    foreach (GemmCase gc in cases)
    {
        float[] a = GemmCase.Random(gc.ALength, 1), b = GemmCase.Random(gc.BLength, 2);
        var c = new float[gc.CLength];
        foreach (int t in threads)
        {
            using var engine = new SgemmEngine(t);
            engine.Multiply(gc.Variant, gc.M, gc.N, gc.K, a, gc.Lda, b, gc.Ldb, c, gc.N, false); // warm-up
            // Small cases: time batches of calls so that each sample lasts about a millisecond or more.
            int inner = (int)Math.Clamp(2e7 / gc.Flops, 1, 100_000);
            var times = new double[reps];
            for (int r = 0; r < reps; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < inner; i++)
                    engine.Multiply(gc.Variant, gc.M, gc.N, gc.K, a, gc.Lda, b, gc.Ldb, c, gc.N, false);
                times[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds / inner;
            }
            Array.Sort(times);
            double best = times[0], median = times[reps / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"impl\":\"RnnLm\",\"kernels\":\"{KernelPath.Current}\",\"case\":\"{gc.Name}\",\"variant\":\"{gc.Variant}\",\"m\":{gc.M},\"n\":{gc.N},\"k\":{gc.K},\"threads\":{t},\"best_s\":{best:G4},\"gflops\":{gc.Flops / best / 1e9:F1},\"gflops_median\":{gc.Flops / median / 1e9:F1},\"share_of_peak\":{gc.Flops / best / 1e9 / (peak * t):F3}}}"));
        }
    }
}

static void QuickRead(string[] args)
{
    double[] sizes = [10.24, 1];
    for (int i = 0; i < args.Length; i++)
    {
        if (args[i] == "--mb") sizes = args[++i].Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        else throw new ArgumentException($"unknown option {args[i]} (read takes --mb SIZES)");
    }
    foreach (double mb in sizes)
    {
        var (best, median) = ReadBandwidth.Measure((long)(mb * 1e6));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"impl\":\"RnnLm\",\"case\":\"read\",\"mb\":{mb},\"threads\":1,\"gb_per_s\":{best:F1},\"gb_per_s_median\":{median:F1},\"passes_per_s\":{best * 1e3 / mb:F0}}}"));
    }
}
