using System.CommandLine;
using System.Text.Json;
using RnnLm.Generation;
using RnnLm.Nn;
using RnnLm.Tensors;
using RnnLm.Training;

namespace RnnLm.Cli;

/// <summary>`rnnlm bench`: timed training steps on random ids, one JSON line per configuration.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var config = new Option<string[]>("--config") { Description = "Preset(s): book, ptb, char, or custom (with the size options).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["book"] };
        var vocab = new Option<int>("--vocab") { Description = "Custom: vocabulary size.", DefaultValueFactory = _ => 32011 };
        var emb = new Option<int>("--emb") { Description = "Custom: embedding size.", DefaultValueFactory = _ => 128 };
        var hidden = new Option<int>("--hidden") { Description = "Custom: hidden size (0: same as --emb).", DefaultValueFactory = _ => 0 };
        var layers = new Option<int>("--layers") { Description = "Custom: layers.", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch") { Description = "Custom: batch size.", DefaultValueFactory = _ => 128 };
        var ctx = new Option<int>("--ctx") { Description = "Custom: context length.", DefaultValueFactory = _ => 30 };
        var steps = new Option<int>("--steps") { Description = "Timed steps (after 2 warm-up steps).", DefaultValueFactory = _ => 10 };
        var threads = ThreadsOption.Create();
        var generate = new Option<bool>("--generate") { Description = "Time generation instead: one token at a time, batch 1, hidden state carried, sampled at temperature 1." };
        var cell = new Option<string>("--cell") { Description = "Recurrent cell: elman (the book's), gru or lstm.", DefaultValueFactory = _ => "elman" };
        var tokens = new Option<int>("--tokens") { Description = "With --generate: tokens to generate (timed, after a short warm-up).", DefaultValueFactory = _ => 2000 };
        var precision = new Option<string[]>("--precision")
        {
            Description = "With --generate: the head's weights, f32, bf16 or int8 (see generate --help); several (f32 bf16 int8) are timed in turn, one JSON line each.",
            AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["f32"],
        };
        PrecisionOption.AddListValidator(precision);
        var cmd = new Command("bench", "Time training steps (forward, backward, AdamW) on random token ids, or generation with --generate; prints JSON lines.")
        { config, vocab, emb, hidden, layers, batch, ctx, steps, threads, cell, generate, tokens, precision };
        cmd.SetAction(r => Program.Guard(() =>
        {
            var cellType = TrainCommand.ParseCell(r.GetValue(cell)!);
            int nThreads = ThreadsOption.Check(r.GetValue(threads));
            var precisions = r.GetValue(precision)!.Select(PrecisionOption.Parse).ToArray();
            if (!r.GetValue(generate) && precisions.Any(x => x != Precision.F32))
                throw new UsageException("--precision applies to --generate only: training runs in float32.");
            foreach (var name in r.GetValue(config)!)
            {
                (int V, int E, int H, int L, int B, int T) p;
                if (name == "custom")
                {
                    int e = r.GetValue(emb);
                    p = (r.GetValue(vocab), e, r.GetValue(hidden) is int h && h > 0 ? h : e, r.GetValue(layers), r.GetValue(batch), r.GetValue(ctx));
                }
                else if (TrainingBenchmark.Configs.TryGetValue(name, out var preset)) p = preset;
                else throw new UsageException($"--config must be book, ptb, char or custom, got '{name}'.");
                if (p.V < 2) throw new UsageException($"--vocab must be at least 2, got {p.V}.");
                if (r.GetValue(generate))
                {
                    int n = r.GetValue(tokens);
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
                var res = TrainingBenchmark.Run(p.V, p.E, p.H, p.L, p.B, p.T, r.GetValue(steps), nThreads, cell: cellType);
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
