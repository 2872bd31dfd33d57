// The soak: train (resuming the same run, so checkpoints are written and read), validate, score and generate in
// turn for MINUTES, in one process, and every minute log its resident memory, managed heap, open file handles
// and threads (after a full collection). After the first WARMUP minutes, memory must stay within 5% and handles and
// threads must not grow (the second half's highest count no higher than the first half's).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RnnLm;
using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Training;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: RnnLm.Soak MINUTES CORPUS.txt OUT_DIR [WARMUP_MINUTES=5]");
    return 2;
}
double minutes = double.Parse(args[0], CultureInfo.InvariantCulture);
string corpus = args[1], outDir = args[2];
double warmup = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 5;
Directory.CreateDirectory(outDir);
string run = Path.Combine(outDir, "run");
if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
string held = string.Join('\n', File.ReadLines(corpus).TakeLast(300)) + "\n";

var options = new TrainingOptions
{
    Tokenizer = "char", Mode = DataMode.Stream, Cell = RnnLm.Nn.CellType.Lstm, Layers = 2, Emb = 32, Hidden = 128,
    Ctx = 50, Batch = 32, Lr = 2e-3, Dropout = 0.1f, ValidEvery = 20, ValidFraction = 0.02, Steps = 0,
};
var samples = new List<Sample>();
var clock = Stopwatch.StartNew();
double nextSample = 0;
long steps = 0;
int cycles = 0;
using var log = new StreamWriter(Path.Combine(outDir, "soak.jsonl"));
while (true)
{
    if (clock.Elapsed.TotalMinutes >= nextSample)
    {
        var s = Sample.Take(clock.Elapsed.TotalMinutes, cycles, steps);
        samples.Add(s);
        log.WriteLine(JsonSerializer.Serialize(s));
        log.Flush();
        Console.WriteLine(s);
        nextSample += 1;
    }
    if (clock.Elapsed.TotalMinutes >= minutes) break;
    steps += 40;
    using (var lm = LanguageModel.Train(corpus, options with { Steps = steps }, run, resume: steps > 40))
    {
        lm.Evaluate(held);
        string text = string.Concat(lm.Generate("ROMEO:", 200, new SamplingOptions(Temperature: 0.8f), seed: (ulong)cycles));
        if (text.Length == 0) throw new InvalidOperationException("generation returned nothing");
    }
    using (var loaded = LanguageModel.Load(run)) loaded.Evaluate(held[..1000]);
    cycles++;
}

var steady = samples.Where(s => s.Minute >= warmup).ToList();
bool ok = steady.Count >= 2;
string verdict = "too short to judge: no samples after the warm-up";
if (ok)
{
    double rssLo = steady.Min(s => s.RssMb), rssHi = steady.Max(s => s.RssMb);
    // Growth, not jitter: the highest count in the second half of the steady part may not exceed the first half's.
    var first = steady.Take(steady.Count / 2 + 1).ToList();
    var second = steady.Skip(steady.Count / 2).ToList();
    bool memory = rssHi <= rssLo * 1.05;
    bool handles = second.Max(s => s.Handles) <= first.Max(s => s.Handles);
    bool threads = second.Max(s => s.Threads) <= first.Max(s => s.Threads);
    ok = memory && handles && threads;
    verdict = string.Create(CultureInfo.InvariantCulture,
        $"after minute {warmup}: resident {rssLo:F1}-{rssHi:F1} MB ({(rssHi / rssLo - 1) * 100:F1}%, limit 5%), handles {steady.Min(s => s.Handles)}-{steady.Max(s => s.Handles)}, threads {steady.Min(s => s.Threads)}-{steady.Max(s => s.Threads)}; {cycles} cycles, {steps} steps");
}
Plot(samples, Path.Combine(outDir, "soak.png"), warmup);
Console.WriteLine((ok ? "soak passed: " : "soak FAILED: ") + verdict);
return ok ? 0 : 1;

static void Plot(List<Sample> samples, string path, double warmup)
{
    var plot = new ScottPlot.Plot();
    double[] x = samples.Select(s => s.Minute).ToArray();
    var rss = plot.Add.Scatter(x, samples.Select(s => s.RssMb).ToArray());
    rss.LegendText = "resident MB";
    var heap = plot.Add.Scatter(x, samples.Select(s => s.ManagedMb).ToArray());
    heap.LegendText = "managed heap MB";
    var handles = plot.Add.Scatter(x, samples.Select(s => (double)s.Handles).ToArray());
    handles.LegendText = "open file handles";
    var threads = plot.Add.Scatter(x, samples.Select(s => (double)s.Threads).ToArray());
    threads.LegendText = "threads";
    plot.Add.VerticalLine(warmup).LegendText = "end of warm-up";
    plot.XLabel("minutes");
    plot.Title("Soak: train, validate, checkpoint, generate in turn");
    plot.ShowLegend();
    plot.Axes.SetLimitsY(0, Math.Max(10, samples.Max(s => s.RssMb)) * 1.15);
    plot.SavePng(path, 900, 500);
}

/// <summary>One minute's reading of the process.</summary>
internal sealed record Sample(double Minute, int Cycles, long Steps, double RssMb, double ManagedMb, int Handles, int Threads)
{
    public static Sample Take(double minute, int cycles, long steps)
    {
        // What the process keeps, not what it has in flight: a full, compacting collection first (the large-object
        // heap too), so that a reading is not a moment in the collector's cycle.
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var p = Process.GetCurrentProcess();
        // Handles: the process's open file descriptors where the OS lists them (Linux), else .NET's count.
        int handles = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : p.HandleCount;
        return new Sample(Math.Round(minute, 2), cycles, steps, p.WorkingSet64 / 1e6, GC.GetTotalMemory(false) / 1e6, handles, p.Threads.Count);
    }
}
