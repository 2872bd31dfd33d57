using System.Text.Json;
using RnnLm.Training;

namespace RnnLm.Interop;

/// <summary>
/// Writes a model as float32 safetensors under the names PyTorch gives its weights (<see cref="PyTorchNames"/>), so
/// <c>model.load_state_dict(tensors)</c> takes them as they are: for Elman the book's RecurrentLanguageModel, for
/// GRU/LSTM an nn.Embedding, an nn.GRU/nn.LSTM named "rnn" and an nn.Linear named "fc". A tied head is written
/// twice (embedding.weight and fc.weight), as PyTorch's state_dict lists it. The model's config, tokenizer and
/// training options go into __metadata__ (<see cref="ConfigKey"/> and the keys beside it), so the file alone
/// rebuilds the model; vocab.json is written beside it for readers that need the tokens.
/// </summary>
public static class SafetensorsExport
{
    /// <summary>The ModelConfig as JSON.</summary>
    public const string ConfigKey = "rnnlm.config";
    /// <summary>The tokenizer in RnnLm's serialised form, base64.</summary>
    public const string TokenizerKey = "rnnlm.tokenizer";
    /// <summary>The TrainingOptions as JSON (absent for a model that has none).</summary>
    public const string TrainingKey = "rnnlm.training";

    /// <summary>What an export wrote.</summary>
    public sealed record Result(string Path, string VocabPath, int Tensors, long Values);

    /// <summary>
    /// Writes the model to path and the vocabulary to vocab.json in the same folder, each atomically. Without overwrite,
    /// either file existing is refused before anything is written.
    /// </summary>
    /// <exception cref="IOException">A file exists (and overwrite is false), or cannot be written.</exception>
    public static Result Write(LanguageModel lm, string path, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(lm);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        string vocab = Path.Combine(Path.GetDirectoryName(full)!, VocabularyFile.FileName);
        if (string.Equals(full, vocab, StringComparison.Ordinal))
            throw new IOException($"{path}: the export's own file cannot be named {VocabularyFile.FileName}, which it writes beside it.");
        AtomicFile.RefuseExisting(full, path, overwrite);
        AtomicFile.RefuseExisting(vocab, vocab, overwrite);
        var file = ToFile(lm);
        file.Write(full, overwrite);
        VocabularyFile.Write(vocab, VocabularyFile.Tokens(lm.Tokenizer), overwrite);
        return new Result(full, vocab, file.Tensors.Count, file.Tensors.Sum(t => t.ElementCount()));
    }

    /// <summary>The safetensors content of a model: its weights under PyTorch's names and the metadata.</summary>
    public static SafetensorsFile ToFile(LanguageModel lm)
    {
        ArgumentNullException.ThrowIfNull(lm);
        var tensors = lm.Model.NamedParameters()
            .Select(p => SafetensorsTensor.FromFloats(PyTorchNames.FromLibrary(p.Name), p.Parameter.Value.Data,
                p.Parameter.Shape.Select(d => (long)d).ToArray()))
            .ToList();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            [ConfigKey] = JsonSerializer.Serialize(lm.Model.Config, Checkpoint.JsonOptions),
            [TokenizerKey] = Convert.ToBase64String(lm.Tokenizer.ToBytes()),
        };
        if (lm.Options != null) metadata[TrainingKey] = JsonSerializer.Serialize(lm.Options, Checkpoint.JsonOptions);
        return new SafetensorsFile(tensors, metadata);
    }
}
