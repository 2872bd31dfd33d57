using System.CommandLine;
using System.Text.Json;
using RnnLm.Generation;
using RnnLm.Nn;
using RnnLm.Tensors;
using RnnLm.Training;
using static RnnLm.Cli.CliOption;

namespace RnnLm.Cli;

/// <summary>`rnnlm bench`: timed training steps on random ids, one JSON line per configuration.</summary>
public static class BenchCommand
{
    /// <summary>The library's training defaults (the book's sizes), which the custom sizes take (and the help quotes).</summary>
    private static readonly TrainingOptions Defaults = new();

    private static readonly Option<string[]> Config = new("--config")
    { Description = "Preset(s): book, ptb, char, or custom (with the size options).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["book"] };
    // The vocabulary comes from the data in training, so the custom default is the book configuration's.
    private static readonly Option<int> Vocab = Opt("--vocab", "Custom: vocabulary size.", TrainingBenchmark.Configs["book"].Vocab);
    private static readonly Option<int> Hidden = Opt("--hidden", "Custom: hidden size (0: same as --emb).", 0);
    private static readonly Option<int> Steps = Opt("--steps", "Timed steps (after 2 warm-up steps).", 10);
    private static readonly Option<int> Threads = ThreadsOption.Create();
    private static readonly Option<bool> Generate = Opt<bool>("--generate", "Time generation instead: one token at a time, batch 1, hidden state carried, sampled at temperature 1.");
    private static readonly Option<int> Tokens = Opt("--tokens", "With --generate: tokens to generate (timed, after a short warm-up).", 2000);
    private static readonly Option<string[]> Precisions = CreatePrecision();

    /// <summary>Every option of bench, in the help's order, with the TrainingOptions property each custom size and the cell set.</summary>
    private static readonly OptionTable<TrainingOptions> Table = new()
    {
        Config,
        Vocab,
        { Opt("--emb", "Custom: embedding size.", Defaults.Emb), nameof(TrainingOptions.Emb), (o, v) => o with { Emb = v } },
        Hidden,
        { Opt("--layers", "Custom: layers.", Defaults.Layers), nameof(TrainingOptions.Layers), (o, v) => o with { Layers = v } },
        { Opt("--batch", "Custom: batch size.", Defaults.Batch), nameof(TrainingOptions.Batch), (o, v) => o with { Batch = v } },
        { Opt("--ctx", "Custom: context length.", Defaults.Ctx), nameof(TrainingOptions.Ctx), (o, v) => o with { Ctx = v } },
        Steps,
        Threads,
        { Opt("--cell", "Recurrent cell: elman (the book's), gru or lstm.", Defaults.Cell.Name()), nameof(TrainingOptions.Cell),
            (o, v) => o with { Cell = TrainCommand.ParseCell(v) } },
        Generate,
        Tokens,
        Precisions,
    };

    private static Option<string[]> CreatePrecision()
    {
        var precision = new Option<string[]>("--precision")
        {
            Description = "With --generate: the head's weights, f32, bf16 or int8 (see generate --help); several (f32 bf16 int8) are timed in turn, one JSON line each.",
            AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["f32"],
        };
        PrecisionOption.AddListValidator(precision);
        return precision;
    }

    /// <summary>The properties the table sets, for tests that compare them with the library's defaults.</summary>
    public static IEnumerable<string> BoundProperties => Table.Properties;

    /// <summary>The cell and the custom sizes given (the library's defaults where not); Hidden as --hidden, or --emb for 0.</summary>
    public static TrainingOptions ReadCustom(ParseResult r)
    {
        var o = Table.Apply(r, Defaults);
        return o with { Hidden = r.GetValue(Hidden) is int h && h > 0 ? h : o.Emb };
    }

    /// <summary>The vocabulary size of the custom configuration.</summary>
    public static int ReadVocab(ParseResult r) => r.GetValue(Vocab);

    public static Command Create()
    {
        var cmd = Table.Command("bench", "Time training steps (forward, backward, AdamW) on random token ids, or generation with --generate; prints JSON lines.");
        cmd.SetAction(r => Program.Guard(() =>
        {
            var custom = ReadCustom(r);
            var cellType = custom.Cell;
            int nThreads = ThreadsOption.Check(r.GetValue(Threads));
            var precisions = r.GetValue(Precisions)!.Select(PrecisionOption.Parse).ToArray();
            if (!r.GetValue(Generate) && precisions.Any(x => x != Precision.F32))
                throw new UsageException("--precision applies to --generate only: training runs in float32.");
            foreach (var name in r.GetValue(Config)!)
            {
                (int V, int E, int H, int L, int B, int T) p;
                if (name == "custom") p = (r.GetValue(Vocab), custom.Emb, custom.Hidden, custom.Layers, custom.Batch, custom.Ctx);
                else if (TrainingBenchmark.Configs.TryGetValue(name, out var preset)) p = preset;
                else throw new UsageException($"--config must be book, ptb, char or custom, got '{name}'.");
                if (p.V < 2) throw new UsageException($"--vocab must be at least 2, got {p.V}.");
                if (r.GetValue(Generate))
                {
                    int n = r.GetValue(Tokens);
                    if (n < 1) throw new UsageException($"--tokens must be at least 1, got {n}.");
                    foreach (var prec in precisions)
                    {
                        var g = GenerationBenchmark.Run(p.V, p.E, p.H, p.L, n, nThreads, cell: cellType, precision: prec);
                        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                        {
                            ["impl"] = "rnnlm", ["mode"] = "generate", ["config"] = name, ["cell"] = cellType.Name(), ["precision"] = prec.Name(),
                            ["cpu"] = KernelPath.CpuModel, ["kernels"] = KernelPath.Current, ["threads"] = g.Threads, ["vocab"] = g.Vocab,
                            ["emb"] = g.Emb, ["hidden"] = g.Hidden, ["layers"] = g.Layers, ["batch"] = 1, ["tokens"] = g.Tokens,
                            ["generate_tokens_per_s"] = Math.Round(g.TokensPerSecond, 1), ["ms_per_token"] = Math.Round(g.MsPerToken, 4),
                        }));
                    }
                    continue;
                }
                var res = TrainingBenchmark.Run(p.V, p.E, p.H, p.L, p.B, p.T, r.GetValue(Steps), nThreads, cell: cellType);
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["impl"] = "rnnlm", ["config"] = name, ["cell"] = cellType.Name(), ["cpu"] = KernelPath.CpuModel,
                    ["kernels"] = KernelPath.Current, ["threads"] = res.Threads, ["vocab"] = res.Vocab, ["emb"] = res.Emb,
                    ["hidden"] = res.Hidden, ["layers"] = res.Layers, ["batch"] = res.Batch, ["ctx"] = res.Ctx, ["steps"] = res.Steps,
                    ["ms_per_step"] = res.MsPerStep, ["tokens_per_s"] = res.TokensPerSecond, ["gflop_per_s"] = res.GflopPerSecond,
                    ["peak_rss_mb"] = res.PeakRssMb,
                }));
            }
            return 0;
        }));
        return cmd;
    }
}
