using RnnLm.Training;

namespace RnnLm.Interop;

/// <summary>
/// A model read from a safetensors file: the checkpoint it makes, and how the file's token ids map to RnnLm's
/// (identity for a file that rnnlm export wrote; a permutation for a vocabulary from elsewhere, see
/// <see cref="VocabularyMapping"/>).
/// </summary>
public sealed class ImportedModel
{
    internal ImportedModel(Checkpoint checkpoint, int[] idMap, IReadOnlyList<string> addedTokens, bool fromMetadata)
    {
        Checkpoint = checkpoint;
        IdMap = idMap;
        AddedTokens = addedTokens;
        FromMetadata = fromMetadata;
    }

    /// <summary>The weights, sizes, tokenizer and options, as a run's best.ckpt holds them (no optimiser state).</summary>
    public Checkpoint Checkpoint { get; }
    /// <summary>For each token id of the file's vocabulary, its id in RnnLm's tokenizer.</summary>
    public int[] IdMap { get; }
    /// <summary>Special tokens the file's vocabulary lacked and RnnLm added (never predicted).</summary>
    public IReadOnlyList<string> AddedTokens { get; }
    /// <summary>Whether config and tokenizer came from the file's RnnLm metadata (else they were inferred).</summary>
    public bool FromMetadata { get; }

    /// <summary>The model, in evaluation mode, with its tokenizer and options.</summary>
    public LanguageModel Load(int threads = 1)
    {
        var model = Checkpoint.CreateModel(threads);
        model.Eval();
        return new LanguageModel(model, Checkpoint.Tokenizer, Checkpoint.Header.Training);
    }

    /// <summary>
    /// Saves the model as dir/best.ckpt, a model folder that eval and generate read (written atomically). A folder
    /// that holds a training run (last.ckpt) is refused; an earlier best.ckpt is replaced only with overwrite.
    /// Returns the checkpoint's path.
    /// </summary>
    /// <exception cref="IOException">The folder cannot be written, holds a run, or holds a model and overwrite is false.</exception>
    public string Save(string dir, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        if (File.Exists(Path.Combine(dir, ModelDirectory.LastFile)))
            throw new IOException($"{dir} holds a training run ({ModelDirectory.LastFile}); import into a new folder.");
        string best = Path.Combine(dir, ModelDirectory.BestFile);
        if (!overwrite && File.Exists(best))
            throw new IOException($"{dir} already holds a model ({ModelDirectory.BestFile}); pass --force (overwrite) to replace it.");
        ModelDirectory.EnsureWritable(dir);
        Checkpoint.Save(best);
        return best;
    }
}
