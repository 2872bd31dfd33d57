// The soak: train (resuming the same run, so checkpoints are written and read), validate, score and generate in
// turn for MINUTES, in one process, and after the first cycle also serve (Kestrel on a loopback port, the model of
// that cycle, answering the requests each later cycle sends: generate, streamed generate, score, candidates, a bad
// request). Every minute it logs its resident memory, managed heap, open file handles and threads (after a full
// collection). After the first WARMUP minutes, memory may not grow by more than 5% and
// handles and threads may not grow at all (see Judge).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RnnLm;
using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Server;
using RnnLm.Training;

if (args.Length == 3 && args[0] == "--verdict")
{
    // Judge (and plot) the samples of an earlier soak again: RnnLm.Soak --verdict OUT_DIR WARMUP_MINUTES.
    var saved = File.ReadLines(Path.Combine(args[1], "soak.jsonl")).Select(l => JsonSerializer.Deserialize<Sample>(l)!).ToList();
    return Judge(saved, args[1], double.Parse(args[2], CultureInfo.InvariantCulture));
}
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: RnnLm.Soak MINUTES CORPUS.txt OUT_DIR [WARMUP_MINUTES=5] | RnnLm.Soak --verdict OUT_DIR WARMUP_MINUTES");
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
Serving? server = null;
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
    server ??= await Serving.StartAsync(run);
    await server.ExchangeAsync(cycles);
    cycles++;
}
if (server != null) await server.DisposeAsync();

return Judge(samples, outDir, warmup);

// After the warm-up, growth is what fails, not jitter: the highest memory reading of the second half of the steady
// part (resident, managed heap) may exceed the first half's highest by at most 5%, and the typical count (the median
// of each half's handles and of its threads outside the thread pool) may not rise at all. The pool adds and retires
// workers as load comes and goes, so its count is reported, not judged; counts are judged by their medians because a
// request in flight holds a socket for a moment: a leak raises the level, jitter does not. The collector returning memory makes resident memory dip; a dip is not a leak.
static int Judge(List<Sample> samples, string outDir, double warmup)
{
    var steady = samples.Where(s => s.Minute >= warmup).ToList();
    bool ok = steady.Count >= 4;
    string verdict = "too short to judge: fewer than 4 samples after the warm-up";
    if (ok)
    {
        var first = steady.Take(steady.Count / 2).ToList();
        var second = steady.Skip(steady.Count / 2).ToList();
        double rss1 = first.Max(s => s.RssMb), rss2 = second.Max(s => s.RssMb);
        double heap1 = first.Max(s => s.ManagedMb), heap2 = second.Max(s => s.ManagedMb);
        bool memory = rss2 <= rss1 * 1.05 && heap2 <= heap1 * 1.05;
        double handles1 = Median(first, s => s.Handles), handles2 = Median(second, s => s.Handles);
        // Threads outside the thread pool (the pool's own count is reported, not judged: it follows the load).
        double threads1 = Median(first, s => s.Threads - s.PoolThreads), threads2 = Median(second, s => s.Threads - s.PoolThreads);
        bool handles = handles2 <= handles1, threads = threads2 <= threads1;
        ok = memory && handles && threads;
        var last = samples[^1];
        verdict = string.Create(CultureInfo.InvariantCulture,
            $"after minute {warmup}: resident {steady.Min(s => s.RssMb):F1}-{steady.Max(s => s.RssMb):F1} MB, highest {rss1:F1} then {rss2:F1} ({(rss2 / rss1 - 1) * 100:+0.0;-0.0}%); managed heap highest {heap1:F2} then {heap2:F2} MB; handles (median, range) {handles1} then {handles2}, {steady.Min(s => s.Handles)}-{steady.Max(s => s.Handles)}; threads outside the pool {threads1} then {threads2}, {steady.Min(s => s.Threads - s.PoolThreads)}-{steady.Max(s => s.Threads - s.PoolThreads)} (pool {steady.Min(s => s.PoolThreads)}-{steady.Max(s => s.PoolThreads)}, all {steady.Min(s => s.Threads)}-{steady.Max(s => s.Threads)}); {last.Cycles} cycles, {last.Steps} steps in {last.Minute:F0} minutes");
    }
    Plot(samples, Path.Combine(outDir, "soak.png"), warmup);
    if (!ok && steady.Count >= 4) Console.WriteLine("(a count fails when its median rises; memory when the second half's highest is over 5% above the first's)");
    Console.WriteLine((ok ? "soak passed: " : "soak FAILED: ") + verdict);
    return ok ? 0 : 1;
}

static double Median(List<Sample> samples, Func<Sample, int> value)
{
    var sorted = samples.Select(value).Order().ToList();
    int n = sorted.Count;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

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
internal sealed record Sample(double Minute, int Cycles, long Steps, double RssMb, double ManagedMb, int Handles, int Threads, int Assemblies = 0,
    int PoolThreads = 0)
{
    public static Sample Take(double minute, int cycles, long steps)
    {
        // What the process keeps, not what it has in flight: a full, compacting collection first (the large-object
        // heap too), so that a reading is not a moment in the collector's cycle.
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var p = Process.GetCurrentProcess();
        // Handles: the process's open file descriptors where the OS lists them (Linux), else .NET's count; the runtime's
        // mappings of assembly files are counted apart, since an assembly loaded late for a new code path is not a leak.
        int handles = p.HandleCount, assemblies = 0;
        if (Directory.Exists("/proc/self/fd"))
        {
            var targets = new DirectoryInfo("/proc/self/fd").GetFiles().Select(f => f.LinkTarget ?? "").ToList();
            assemblies = targets.Count(t => t.EndsWith(".dll", StringComparison.Ordinal));
            handles = targets.Count - assemblies;
        }
        return new Sample(Math.Round(minute, 2), cycles, steps, p.WorkingSet64 / 1e6, GC.GetTotalMemory(false) / 1e6, handles, p.Threads.Count, assemblies,
            ThreadPool.ThreadCount);
    }
}

/// <summary>A server for the soak's cycles: one app and one client for the whole run, as a deployment would have.</summary>
internal sealed class Serving : IAsyncDisposable
{
    private readonly Microsoft.AspNetCore.Builder.WebApplication _app;
    private readonly HttpClient _client;

    private Serving(Microsoft.AspNetCore.Builder.WebApplication app, HttpClient client) { _app = app; _client = client; }

    public static async Task<Serving> StartAsync(string modelDir)
    {
        var models = new ModelRegistry();
        models.Add("soak", LanguageModel.Load(modelDir));
        var app = RnnLmHost.Build(models, "http://127.0.0.1:0", logging: _ => { });
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(RnnLmHost.Addresses(app)[0]) };
        app.Lifetime.ApplicationStopped.Register(models.Dispose);
        return new Serving(app, client);
    }

    /// <summary>One round of requests; throws if any reply is not the one expected.</summary>
    public async Task ExchangeAsync(int cycle)
    {
        await Expect("/v1/generate", $$"""{"prompt": "ROMEO:", "max_tokens": 100, "seed": {{cycle}}}""", 200);
        await Expect("/v1/generate", $$"""{"prompt": "JULIET:", "max_tokens": 100, "stream": true, "seed": {{cycle}}}""", 200);
        await Expect("/v1/score", """{"text": "To be, or not to be, that is the question."}""", 200);
        await Expect("/v1/candidates", """{"prompt": "KING", "k": 5}""", 200);
        await Expect("/v1/generate", """{"prompt": "x", "max_tokens": -1}""", 400);
        using var health = await _client.GetAsync("/healthz");
        if (!health.IsSuccessStatusCode) throw new InvalidOperationException($"/healthz answered {(int)health.StatusCode}");
    }

    private async Task Expect(string path, string json, int status)
    {
        using var body = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var reply = await _client.PostAsync(path, body);
        string text = await reply.Content.ReadAsStringAsync();
        if ((int)reply.StatusCode != status || text.Length == 0)
            throw new InvalidOperationException($"{path} answered {(int)reply.StatusCode} (expected {status}): {text}");
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
