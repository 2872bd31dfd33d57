using System.CommandLine;
using System.Text.Json;
using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Training;

namespace RnnLm.Cli;

/// <summary>
/// `rnnlm score`: the log-probability of every line of a file, one JSON line each (text, tokens, logprob, ppl),
/// then a summary line; for rescoring n-best lists. The totals are eval's (see <see cref="TextScorer"/>).
/// </summary>
public static class ScoreCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A run folder (its best.ckpt) or a checkpoint file.", Required = true };
        var data = new Option<string>("--data") { Description = "The text file to score, line by line.", Required = true };
        var context = new Option<string>("--context")
        {
            Description = "zero: each line alone from a zero state; carried: the file as one stream (default: as the model was trained, " +
                "zero for sentence mode, carried for stream mode). The first token of a line (zero) or of the file (carried) is context, not scored.",
        };
        var perToken = new Option<bool>("--per-token") { Description = "Add each token's text and log-probability to its line's JSON." };
        var unknown = UnknownOption.Create();
        var precision = PrecisionOption.Create();
        var cmd = new Command("score", "Log-probability and perplexity of each line of a file, as JSON lines, then a summary.")
        { model, data, context, perToken, unknown, precision };
        cmd.SetAction(r => Program.Guard(() =>
        {
            var handling = UnknownOption.Parse(r.GetValue(unknown)!);
            var p = PrecisionOption.Parse(r.GetValue(precision)!);
            ScoreContext? ctx = ParseContext(r.GetValue(context));
            using var lm = LanguageModel.Load(r.GetValue(model)!, precision: p);
            string text = CorpusReader.ReadText(r.GetValue(data)!);
            ctx ??= lm.Options?.Mode == DataMode.Stream ? ScoreContext.Carried : ScoreContext.Zero;
            var found = new UnknownCharacters();
            var lines = GenerationFlags.Map(() => lm.ScoreLines(text, ctx.Value, handling, found));
            long tokens = 0, count = 0;
            double sum = 0;
            using var stdout = Console.OpenStandardOutput();
            foreach (var line in lines)
            {
                count++;
                tokens += line.Tokens.Count;
                sum += line.LogProb;
                WriteJsonLine(stdout, w => WriteLine(w, line, r.GetValue(perToken)));
            }
            WriteJsonLine(stdout, w => WriteSummary(w, ctx.Value, count, tokens, sum));
            UnknownOption.Report(found, handling);
            return 0;
        }));
        return cmd;
    }

    /// <summary>--context: zero, carried, or null (as the model was trained).</summary>
    private static ScoreContext? ParseContext(string? value) => value switch
    {
        null => null,
        "zero" => ScoreContext.Zero,
        "carried" => ScoreContext.Carried,
        _ => throw new UsageException($"--context must be zero or carried, got '{value}'."),
    };

    /// <summary>One JSON object written by write, then a line break.</summary>
    private static void WriteJsonLine(Stream stdout, Action<Utf8JsonWriter> write)
    {
        using (var w = new Utf8JsonWriter(stdout, JsonOutput))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }

    private static void WriteLine(Utf8JsonWriter w, LineScore line, bool perToken)
    {
        w.WriteNumber("line", line.Line);
        w.WriteString("text", line.Text);
        w.WriteNumber("tokens", line.Tokens.Count);
        w.WriteNumber("logprob", Math.Round(line.LogProb, 6));
        WriteNumberOrNull(w, "ppl", line.Perplexity);
        if (!perToken) return;
        w.WriteStartArray("token_logprobs");
        foreach (var t in line.Tokens)
        {
            w.WriteStartObject();
            w.WriteString("token", t.Text);
            w.WriteNumber("logprob", Math.Round(t.LogProb, 6));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteSummary(Utf8JsonWriter w, ScoreContext context, long lines, long tokens, double logProb)
    {
        w.WriteBoolean("summary", true);
        w.WriteString("context", context == ScoreContext.Zero ? "zero" : "carried");
        w.WriteNumber("lines", lines);
        w.WriteNumber("tokens", tokens);
        w.WriteNumber("logprob", Math.Round(logProb, 6));
        WriteNumberOrNull(w, "loss", tokens == 0 ? double.NaN : -logProb / tokens);
        WriteNumberOrNull(w, "ppl", tokens == 0 ? double.NaN : Math.Exp(-logProb / tokens));
    }

    /// <summary>Text as it is (é, not \u00E9): the output is read by people as well as programs.</summary>
    private static readonly JsonWriterOptions JsonOutput = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, Math.Round(value, 6));
        else w.WriteNull(name);
    }
}
