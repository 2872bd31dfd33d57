using System.Text.Json;
using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Interop;

/// <summary>
/// Makes an RnnLm model from a safetensors file. A file that rnnlm export wrote rebuilds itself from its metadata
/// (config, tokenizer, options); vocab.json is then optional and, if given, must match. A file from PyTorch (no
/// RnnLm metadata) needs vocab.json: the cell and sizes are read off the tensors (the book's Elman model
/// "rnn.rnn_units.{l}.Wh/Uh/b", or nn.GRU/nn.LSTM's "rnn.weight_ih_l{l}" and so on with 3 or 4 gates, see
/// <see cref="PyTorchNames"/>), and the vocabulary is mapped onto an RnnLm tokenizer (<see cref="VocabularyMapping"/>)
/// with the embedding and head rows permuted to match. A missing or unexpected tensor, a shape that does not fit,
/// a vocabulary whose size is not the embedding's, all are refused with an InvalidDataException that names them.
/// </summary>
public static class SafetensorsImport
{
    /// <summary>How far below every real token's logit an added token's stays, for any state (in nats).</summary>
    public const float AddedTokenMargin = 30f;

    /// <summary>Reads the file (and vocabulary) into a model.</summary>
    /// <exception cref="InvalidDataException">The file or the vocabulary is invalid or does not fit (the message says which and why).</exception>
    public static ImportedModel Read(string path, string? vocabPath = null, ImportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new ImportOptions();
        var file = SafetensorsFile.Read(path);
        return file.Metadata.ContainsKey(SafetensorsExport.ConfigKey)
            ? FromMetadata(file, path, vocabPath)
            : FromTensors(file, path, vocabPath ?? throw new InvalidDataException(
                $"{path} has no RnnLm metadata (rnnlm export did not write it): give its vocabulary (--vocab VOCAB.json) to say which token each row is."), options);
    }

    private static ImportedModel FromMetadata(SafetensorsFile file, string path, string? vocabPath)
    {
        ModelConfig config;
        Tokenizer tokenizer;
        TrainingOptions? training = null;
        try
        {
            config = JsonSerializer.Deserialize<ModelConfig>(file.Metadata[SafetensorsExport.ConfigKey], Checkpoint.JsonOptions)
                ?? throw new InvalidDataException("it is null.");
            config.Validate();
            if (!file.Metadata.TryGetValue(SafetensorsExport.TokenizerKey, out var tok))
                throw new InvalidDataException($"there is no {SafetensorsExport.TokenizerKey} beside it.");
            tokenizer = Tokenizer.FromBytes(Convert.FromBase64String(tok));
            if (file.Metadata.TryGetValue(SafetensorsExport.TrainingKey, out var t))
                training = JsonSerializer.Deserialize<TrainingOptions>(t, Checkpoint.JsonOptions);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the metadata {SafetensorsExport.ConfigKey} is not usable: {e.Message}", e);
        }
        if (tokenizer.VocabSize != config.VocabSize)
            throw new InvalidDataException($"{path}: the metadata's tokenizer has {tokenizer.VocabSize} tokens, its config {config.VocabSize}.");
        if (vocabPath != null)
        {
            var given = VocabularyFile.Read(vocabPath);
            var own = VocabularyFile.Tokens(tokenizer);
            if (given.Length != own.Length)
                throw new InvalidDataException($"{vocabPath} has {given.Length} tokens; the model in {path} has {own.Length}.");
            for (int i = 0; i < own.Length; i++)
                if (given[i] != own[i])
                    throw new InvalidDataException($"{vocabPath}: token {i} is {JsonSerializer.Serialize(given[i])}; the model in {path} has {JsonSerializer.Serialize(own[i])} there.");
        }
        long stored = file.Tensors.Sum(t => t.ElementCount()), needed;
        try { needed = config.ParameterCount(); }
        catch (OverflowException) { throw new InvalidDataException($"{path}: the metadata's sizes are too large to count."); }
        if (needed > stored)
            throw new InvalidDataException($"{path}: the metadata's sizes need {needed} parameter values; the file holds {stored}.");
        var parameters = Collect(file, path, config, PyTorchNames.FromLibrary);
        var identity = Enumerable.Range(0, config.VocabSize).ToArray();
        return new ImportedModel(NewCheckpoint(config, tokenizer, training, parameters), identity, [], fromMetadata: true);
    }

    private static ImportedModel FromTensors(SafetensorsFile file, string path, string vocabPath, ImportOptions options)
    {
        var emb = file.Find("embedding.weight") ?? throw new InvalidDataException($"{path}: no tensor 'embedding.weight' [V, E].");
        if (emb.Shape.Length != 2 || emb.Shape[0] < 1 || emb.Shape[1] < 1)
            throw new InvalidDataException($"{path}: tensor 'embedding.weight' has shape {emb.ShapeText}; it must be [V, E].");
        int V = checked((int)emb.Shape[0]), E = checked((int)emb.Shape[1]);
        var (cell, hidden, layers, elmanPrefix) = RecurrentShape(file, path);
        var tokens = VocabularyFile.Read(vocabPath);
        if (tokens.Length != V)
            throw new InvalidDataException($"{vocabPath} has {tokens.Length} tokens but 'embedding.weight' in {path} has {V} rows: the vocabulary is not this model's.");
        var mapping = VocabularyMapping.Build(tokens, options.Tokenizer, vocabPath);
        int newV = mapping.Tokenizer.VocabSize;
        var config = new ModelConfig(newV, E, hidden, layers, PadIndex: 0, Cell: cell);
        // The tensors are checked against the file's own vocabulary size, then their rows permuted to RnnLm's ids.
        var parameters = Collect(file, path, config with { VocabSize = V },
            name => elmanPrefix != null && name.StartsWith("rnn.layers.", StringComparison.Ordinal) ? elmanPrefix + name["rnn.layers.".Length..] : name);
        Permute(parameters, mapping, E, hidden);
        var training = new TrainingOptions
        {
            Tokenizer = mapping.Tokenizer.Kind, Mode = options.Mode, Cell = cell, Layers = layers, Emb = E, Hidden = hidden,
        };
        return new ImportedModel(NewCheckpoint(config, mapping.Tokenizer, training, parameters), mapping.NewId, mapping.Added, fromMetadata: false);
    }

    /// <summary>The cell, hidden size and layer count the file's recurrent tensors show, and the prefix of its Elman names.</summary>
    private static (CellType Cell, int Hidden, int Layers, string? ElmanPrefix) RecurrentShape(SafetensorsFile file, string path)
    {
        foreach (var prefix in new[] { "rnn.rnn_units.", "rnn.layers." })
        {
            var uh = file.Find(prefix + "0.Uh");
            if (uh == null) continue;
            if (uh.Shape.Length != 2 || uh.Shape[0] != uh.Shape[1] || uh.Shape[0] < 1)
                throw new InvalidDataException($"{path}: tensor '{prefix}0.Uh' has shape {uh.ShapeText}; it must be [H, H].");
            int layers = 0;
            while (file.Find($"{prefix}{layers}.Uh") != null) layers++;
            return (CellType.Elman, checked((int)uh.Shape[0]), layers, prefix);
        }
        var whh = file.Find("rnn.weight_hh_l0");
        if (whh != null)
        {
            if (whh.Shape.Length != 2 || whh.Shape[1] < 1)
                throw new InvalidDataException($"{path}: tensor 'rnn.weight_hh_l0' has shape {whh.ShapeText}; it must be [G·H, H].");
            long H = whh.Shape[1], G = whh.Shape[0] / H;
            if (whh.Shape[0] != G * H || (G != 3 && G != 4))
                throw new InvalidDataException($"{path}: tensor 'rnn.weight_hh_l0' has shape {whh.ShapeText}: {whh.Shape[0]} rows is neither 3·{H} (nn.GRU) nor 4·{H} (nn.LSTM).");
            int layers = 0;
            while (file.Find($"rnn.weight_hh_l{layers}") != null) layers++;
            return (G == 3 ? CellType.Gru : CellType.Lstm, checked((int)H), layers, null);
        }
        throw new InvalidDataException($"{path}: no recurrent layers found: expected 'rnn.rnn_units.0.Wh' (the book's Elman model) or 'rnn.weight_ih_l0' (nn.GRU, nn.LSTM).");
    }

    /// <summary>
    /// The values of every parameter a model of this config has, by RnnLm name, from the file's tensor of the name
    /// fileName gives; every tensor must be used, and each shape must be the model's.
    /// </summary>
    private static Dictionary<string, float[]> Collect(SafetensorsFile file, string path, ModelConfig config, Func<string, string> fileName)
    {
        List<(string Name, int[] Shape)> expected;
        using (var model = new RecurrentLanguageModel(config))
            expected = model.NamedParameters().Select(p => (p.Name, p.Parameter.Shape)).ToList();
        var byName = file.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var missing = expected.Select(e => fileName(e.Name)).Where(n => !byName.ContainsKey(n)).ToList();
        var used = expected.Select(e => fileName(e.Name)).ToHashSet(StringComparer.Ordinal);
        var extra = file.Tensors.Select(t => t.Name).Where(n => !used.Contains(n)).ToList();
        string what = $"the {config.Cell.Name()} model of {config.NumLayers} layers (embedding {config.EmbDim}, hidden {config.HiddenDim}, vocabulary {config.VocabSize})";
        if (missing.Count > 0)
            throw new InvalidDataException($"{path}: {what} needs tensors the file lacks: {string.Join(", ", missing)}.");
        if (extra.Count > 0)
            throw new InvalidDataException($"{path}: tensors that {what} has no place for: {string.Join(", ", extra)}.");
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            var t = byName[fileName(name)];
            if (!t.Shape.SequenceEqual(shape.Select(d => (long)d)))
                throw new InvalidDataException($"{path}: tensor '{t.Name}' has shape {t.ShapeText}; {what} needs {SafetensorsTensor.ShapeString(shape.Select(d => (long)d))}.");
            values[name] = t.ToFloat32(path);
        }
        return values;
    }

    /// <summary>
    /// Puts the embedding and head rows in RnnLm's id order. A token the source lacks gets a zero embedding, a zero
    /// head row and a bias below every real token's least possible logit (b_j − ‖w_j‖₁, as every cell's output is in
    /// [−1, 1]) by <see cref="AddedTokenMargin"/>: it is never predicted, and the real tokens' probabilities are as before.
    /// </summary>
    private static void Permute(Dictionary<string, float[]> p, VocabularyMapping mapping, int E, int H)
    {
        var sourceOf = mapping.SourceOf;
        float[] emb = p["embedding.weight"], fcW = p["fc.weight"], fcB = p["fc.bias"];
        float floor = float.PositiveInfinity;
        for (int j = 0; j < fcB.Length; j++)
        {
            float l1 = 0;
            for (int k = 0; k < H; k++) l1 += Math.Abs(fcW[j * H + k]);
            floor = Math.Min(floor, fcB[j] - l1);
        }
        int V = sourceOf.Length;
        float[] newEmb = new float[V * E], newW = new float[V * H], newB = new float[V];
        for (int id = 0; id < V; id++)
        {
            int s = sourceOf[id];
            if (s < 0) { newB[id] = floor - AddedTokenMargin; continue; }
            emb.AsSpan(s * E, E).CopyTo(newEmb.AsSpan(id * E, E));
            fcW.AsSpan(s * H, H).CopyTo(newW.AsSpan(id * H, H));
            newB[id] = fcB[s];
        }
        p["embedding.weight"] = newEmb;
        p["fc.weight"] = newW;
        p["fc.bias"] = newB;
    }

    private static Checkpoint NewCheckpoint(ModelConfig config, Tokenizer tokenizer, TrainingOptions? training, Dictionary<string, float[]> parameters) => new()
    {
        Header = new CheckpointHeader { Model = config, Training = training, CreatedBy = "rnnlm import" },
        Tokenizer = tokenizer,
        Parameters = parameters,
        OptimizerState = [],
        CarriedState = [],
    };
}
