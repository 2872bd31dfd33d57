using System.CommandLine;
using System.Globalization;

namespace RnnLm.Cli;

/// <summary>`rnnlm eval`: loss, perplexity (and bits per character for character models) of a model on a file.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A run folder (its best.ckpt) or a checkpoint file.", Required = true };
        var data = new Option<string>("--data") { Description = "The text file to evaluate on.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Batch size (0: as trained).", DefaultValueFactory = _ => 0 };
        var threads = ThreadsOption.Create();
        var unknown = UnknownOption.Create();
        var precision = PrecisionOption.Create();
        var cmd = new Command("eval", "Average loss, perplexity and (character models) bits per character on a file; every token but the first is scored.")
        { model, data, batch, threads, unknown, precision };
        cmd.SetAction(r => Program.Guard(() =>
        {
            int b = r.GetValue(batch), t = r.GetValue(threads);
            var handling = UnknownOption.Parse(r.GetValue(unknown)!);
            var p = PrecisionOption.Parse(r.GetValue(precision)!);
            if (b < 0) throw new UsageException($"--batch must be 0 or positive, got {b}.");
            ThreadsOption.Check(t);
            // The model's data mode decides how the file is read: piece by piece in stream mode, whole in sentence mode.
            using var lm = LanguageModel.Load(r.GetValue(model)!, t, p);
            var s = lm.EvaluateFile(r.GetValue(data)!, b, handling);
            UnknownOption.Report(s.Unknown, handling);
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Format(inv, "tokens={0} loss={1:F4} perplexity={2:F2}", s.Tokens, s.Loss, s.Perplexity));
            if (lm.Tokenizer.Kind == "char") Console.WriteLine(string.Format(inv, "bits_per_char={0:F4}", s.BitsPerCharacter));
            return 0;
        }));
        return cmd;
    }
}
