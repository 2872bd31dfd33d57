using System.CommandLine;
using System.Globalization;
using RnnLm.Interop;
using RnnLm.Nn;
using RnnLm.Training;
using static RnnLm.Cli.CliOption;

namespace RnnLm.Cli;

/// <summary>`rnnlm import`: a model folder from safetensors weights (rnnlm export's, or PyTorch's with a vocab.json).</summary>
public static class ImportCommand
{
    /// <summary>The library's defaults, which the options take (and the help quotes).</summary>
    private static readonly ImportOptions Defaults = new();

    private static readonly Option<string> Weights = new("--safetensors") { Description = "The weights: a file rnnlm export wrote, or PyTorch's state_dict (the book's Elman model, or nn.GRU/nn.LSTM named rnn).", Required = true };
    private static readonly Option<string?> Vocab = new("--vocab") { Description = "vocab.json: the tokens in id order, padding included. Needed unless the file has RnnLm's metadata." };
    private static readonly Option<string> Output = new("--out") { Description = "The model folder to write (best.ckpt), for eval and generate.", Required = true };
    private static readonly Option<string?> Check = new("--check") { Description = "A safetensors file with input_ids [B, T] and the logits [B, T, V] another framework computed: compare (rtol 1e-4, atol 1e-5)." };
    private static readonly Option<bool> Force = new("--force") { Description = "Replace the model in --out if it holds one." };

    /// <summary>Every option of import, in the help's order, with the ImportOptions property each sets.</summary>
    private static readonly OptionTable<ImportOptions> Table = new()
    {
        Weights,
        Vocab,
        Output,
        { Opt("--tokenizer", "For a PyTorch vocabulary: auto (char when every token is one character), char or word.", Defaults.Tokenizer),
            nameof(ImportOptions.Tokenizer), (o, v) => o with { Tokenizer = v } },
        { Opt("--mode", "For a PyTorch model: how eval reads text, sentences (the book's) or stream.", TrainCommand.ModeName(Defaults.Mode)),
            nameof(ImportOptions.Mode), (o, v) => o with { Mode = TrainCommand.ParseMode(v) } },
        Check,
        Force,
    };

    /// <summary>The properties the table sets, for tests that compare them with the library's defaults.</summary>
    public static IEnumerable<string> BoundProperties => Table.Properties;

    /// <summary>The import options given (the library's defaults where not).</summary>
    public static ImportOptions ReadOptions(ParseResult r) => Table.Apply(r, Defaults);

    public static Command Create()
    {
        var cmd = Table.Command("import", "Make a model folder from safetensors weights, such as a PyTorch state_dict and its vocab.json.");
        cmd.SetAction(r => Program.Guard(() =>
        {
            var options = ReadOptions(r);
            if (options.Tokenizer is not ("auto" or "char" or "word")) throw new UsageException($"--tokenizer must be auto, char or word, got '{options.Tokenizer}'.");
            var imported = SafetensorsImport.Read(r.GetValue(Weights)!, r.GetValue(Vocab), options);
            var c = imported.Checkpoint.Header.Model;
            LogitComparison? comparison = null;
            if (r.GetValue(Check) is string reference)
            {
                using var lm = imported.Load();
                comparison = LogitCheck.Compare(lm, imported.IdMap, reference);
                var inv = CultureInfo.InvariantCulture;
                Console.WriteLine(string.Format(inv, "check: {0} logits, max abs diff {1:E2}, max rel diff {2:E2}, {3:P1} of the tolerance (rtol {4:G}, atol {5:G}) used, {6} beyond it: {7}",
                    comparison.Values, comparison.MaxAbs, comparison.MaxRel, comparison.ToleranceUsed, comparison.Rtol, comparison.Atol, comparison.Failures,
                    comparison.Passed ? "ok" : "FAILED"));
                if (!comparison.Passed)
                {
                    Console.Error.WriteLine($"error: the imported model's logits differ from {reference}'s; nothing was written.");
                    return 1;
                }
            }
            string saved = imported.Save(r.GetValue(Output)!, r.GetValue(Force));
            Console.WriteLine($"wrote {saved}: {c.Cell.Name()} model of {c.NumLayers} layers (embedding {c.EmbDim}, hidden {c.HiddenDim}), " +
                $"{imported.Checkpoint.Tokenizer.Kind} tokenizer of {c.VocabSize} tokens{(imported.FromMetadata ? ", from the file's metadata" : "")}");
            if (imported.AddedTokens.Count > 0)
                Console.WriteLine($"note: added {string.Join(" and ", imported.AddedTokens)}, which the vocabulary lacked; the model never predicts them.");
            return 0;
        }));
        return cmd;
    }
}
