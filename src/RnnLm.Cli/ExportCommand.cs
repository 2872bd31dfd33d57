using System.CommandLine;
using RnnLm.Interop;
using RnnLm.Nn;

namespace RnnLm.Cli;

/// <summary>`rnnlm export`: a trained model as safetensors (for PyTorch, with vocab.json beside it) or ONNX (for ONNX Runtime).</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A run folder (its best.ckpt) or a checkpoint file.", Required = true };
        var format = new Option<string>("--format") { Description = "safetensors (PyTorch's names; vocab.json is written beside it) or onnx.", Required = true };
        var output = new Option<string>("--out") { Description = "The file to write.", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace --out (and vocab.json) if they exist." };
        var cmd = new Command("export", "Write a model as safetensors (load_state_dict-ready, config and tokenizer in its metadata) or as ONNX.")
        { model, format, output, force };
        cmd.SetAction(r => Program.Guard(() =>
        {
            string fmt = r.GetValue(format)!, path = r.GetValue(output)!;
            bool overwrite = r.GetValue(force);
            if (fmt is not ("safetensors" or "onnx")) throw new UsageException($"--format must be safetensors or onnx, got '{fmt}'.");
            // Refused before the model is read: an existing file without --force.
            AtomicFile.RefuseExisting(Path.GetFullPath(path), path, overwrite);
            using var lm = LanguageModel.Load(r.GetValue(model)!);
            var c = lm.Model.Config;
            if (fmt == "onnx")
            {
                OnnxExport.Write(lm, path, overwrite);
                Console.WriteLine($"wrote {path}: ONNX opset {OnnxExport.Opset}, {c.Cell.Name()} model of {c.NumLayers} layers, vocabulary {c.VocabSize}");
            }
            else
            {
                var result = SafetensorsExport.Write(lm, path, overwrite);
                Console.WriteLine($"wrote {path}: {result.Tensors} tensors, {result.Values} values (float32), {c.Cell.Name()} model of {c.NumLayers} layers");
                Console.WriteLine($"wrote {result.VocabPath}: {c.VocabSize} tokens");
            }
            return 0;
        }));
        return cmd;
    }
}
