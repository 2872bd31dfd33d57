using System.CommandLine;
using System.Globalization;
using RnnLm.Interop;
using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Cli;

/// <summary>`rnnlm import`: a model folder from safetensors weights (rnnlm export's, or PyTorch's with a vocab.json).</summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--safetensors") { Description = "The weights: a file rnnlm export wrote, or PyTorch's state_dict (the book's Elman model, or nn.GRU/nn.LSTM named rnn).", Required = true };
        var vocab = new Option<string?>("--vocab") { Description = "vocab.json: the tokens in id order, padding included. Needed unless the file has RnnLm's metadata." };
        var output = new Option<string>("--out") { Description = "The model folder to write (best.ckpt), for eval and generate.", Required = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "For a PyTorch vocabulary: auto (char when every token is one character), char or word.", DefaultValueFactory = _ => "auto" };
        var mode = new Option<string>("--mode") { Description = "For a PyTorch model: how eval reads text, sentences (the book's) or stream.", DefaultValueFactory = _ => "sentences" };
        var check = new Option<string?>("--check") { Description = "A safetensors file with input_ids [B, T] and the logits [B, T, V] another framework computed: compare (rtol 1e-4, atol 1e-5)." };
        var force = new Option<bool>("--force") { Description = "Replace the model in --out if it holds one." };
        var cmd = new Command("import", "Make a model folder from safetensors weights, such as a PyTorch state_dict and its vocab.json.")
        { file, vocab, output, tokenizer, mode, check, force };
        cmd.SetAction(r => Program.Guard(() =>
        {
            var options = new ImportOptions
            {
                Tokenizer = r.GetValue(tokenizer)!,
                Mode = r.GetValue(mode) switch
                {
                    "sentences" => DataMode.Sentences,
                    "stream" => DataMode.Stream,
                    var m => throw new UsageException($"--mode must be sentences or stream, got '{m}'."),
                },
            };
            if (options.Tokenizer is not ("auto" or "char" or "word")) throw new UsageException($"--tokenizer must be auto, char or word, got '{options.Tokenizer}'.");
            var imported = SafetensorsImport.Read(r.GetValue(file)!, r.GetValue(vocab), options);
            var c = imported.Checkpoint.Header.Model;
            LogitComparison? comparison = null;
            if (r.GetValue(check) is string reference)
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
            string saved = imported.Save(r.GetValue(output)!, r.GetValue(force));
            Console.WriteLine($"wrote {saved}: {c.Cell.Name()} model of {c.NumLayers} layers (embedding {c.EmbDim}, hidden {c.HiddenDim}), " +
                $"{imported.Checkpoint.Tokenizer.Kind} tokenizer of {c.VocabSize} tokens{(imported.FromMetadata ? ", from the file's metadata" : "")}");
            if (imported.AddedTokens.Count > 0)
                Console.WriteLine($"note: added {string.Join(" and ", imported.AddedTokens)}, which the vocabulary lacked; the model never predicts them.");
            return 0;
        }));
        return cmd;
    }
}
