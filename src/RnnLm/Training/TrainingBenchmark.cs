using System.Diagnostics;
using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Training;

/// <summary>Training steps (forward, backward, AdamW) on random token ids, timed: the peer of the PyTorch reference's bench.</summary>
public static class TrainingBenchmark
{
    public sealed record Result(int Vocab, int Emb, int Hidden, int Layers, int Batch, int Ctx, int Steps, int Threads,
        double MsPerStep, double TokensPerSecond, double GflopPerSecond, double PeakRssMb, CellType Cell = CellType.Elman);

    /// <summary>The sizes of ../shared/bench/pytorch_reference.py's configurations, which bench/compare.py runs on both sides.</summary>
    public static readonly IReadOnlyDictionary<string, (int Vocab, int Emb, int Hidden, int Layers, int Batch, int Ctx)> Configs =
        new Dictionary<string, (int, int, int, int, int, int)>
        {
            ["book"] = (32011, 128, 128, 2, 128, 30),
            ["ptb"] = (10000, 256, 256, 2, 64, 35),
            ["char"] = (65, 256, 256, 2, 64, 100),
        };

    /// <summary>
    /// FLOPs of one training step counted as 2·m·n·k for every matrix product of forward and backward: the head
    /// (3 products of rows × hidden × vocab) and each layer's input and recurrent products (3 each, G gates wide).
    /// </summary>
    public static double FlopsPerStep(int vocab, int emb, int hidden, int layers, int batch, int ctx, CellType cell = CellType.Elman)
    {
        double rows = (double)batch * ctx;
        double head = 3 * 2 * rows * hidden * vocab;
        using var stack = new RecurrentStack(emb, hidden, layers, cell: cell);
        return head + stack.TrainingFlops(rows);
    }

    public static Result Run(int vocab, int emb, int hidden, int layers, int batch, int ctx, int steps, int threads, int seed = 42,
        CellType cell = CellType.Elman)
    {
        Check.Positive(steps, nameof(steps));
        using var model = new RecurrentLanguageModel(new ModelConfig(vocab, emb, hidden, layers, Cell: cell), threads);
        Initialization.Apply(model, InitScheme.Book, new Rng((ulong)seed));
        using var opt = new AdamW(model.Parameters(), threads: threads);
        var rng = new Rng((ulong)seed + 1);
        var x = new int[batch * ctx];
        var y = new int[batch * ctx];
        void Fill() { for (int i = 0; i < x.Length; i++) { x[i] = 1 + rng.NextInt(vocab - 1); y[i] = 1 + rng.NextInt(vocab - 1); } }
        void Step() { Fill(); opt.ZeroGrad(); model.ForwardBackward(x, y, batch, ctx); opt.Step(); }
        Step(); Step(); // warm-up, as the reference does
        var sw = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++) Step();
        double secs = sw.Elapsed.TotalSeconds;
        double flops = FlopsPerStep(vocab, emb, hidden, layers, batch, ctx, cell) * steps;
        using var proc = Process.GetCurrentProcess();
        proc.Refresh();
        return new Result(vocab, emb, hidden, layers, batch, ctx, steps, threads,
            Math.Round(1000 * secs / steps, 2), Math.Round((double)batch * ctx * steps / secs, 1),
            Math.Round(flops / secs / 1e9, 1), Math.Round(proc.PeakWorkingSet64 / 1048576.0, 1), cell);
    }
}
