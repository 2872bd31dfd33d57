using RnnLm.Nn;

namespace RnnLm.Training;

/// <summary>
/// The named training recipes, for `rnnlm train --preset` and the C# API alike. Each is a complete TrainingOptions;
/// a caller sets Data (and anything else) on top with a `with` expression. docs/results.md has each one's figures.
/// (The benchmark configurations of <see cref="TrainingBenchmark.Configs"/> share three of these names, but they are
/// the sizes of the PyTorch reference's configurations, not these recipes.)
/// </summary>
public static class Presets
{
    /// <summary>The book's chapter 3: word level, a sentence per line, 128/128, 2 Elman layers, batch 128, ctx 30, AdamW 1e-3.</summary>
    public static TrainingOptions Book => new();

    /// <summary>The best Elman recipe for Penn Treebank: one 512-unit layer, 320-d tied embeddings, dropout 0.5, 59 minutes.</summary>
    public static TrainingOptions Ptb => new()
    {
        Tokenizer = "word", Mode = DataMode.Stream, Layers = 1, Emb = 320, Hidden = 512, Ctx = 35, Batch = 64,
        Lr = 2e-3, WeightDecay = 0.01, Schedule = LrSchedule.Cosine, Epochs = 100, Minutes = 59, Clip = 0.5, Average = 0.15,
        Dropout = 0.5f, TieWeights = true, Init = InitScheme.Book,
    };

    /// <summary>Characters with the Elman unit: 2×512, 128-d embeddings, BPTT 100, dropout 0.2, 30 minutes.</summary>
    public static TrainingOptions Char => new()
    {
        Tokenizer = "char", Mode = DataMode.Stream, Layers = 2, Emb = 128, Hidden = 512, Ctx = 100, Batch = 64,
        Lr = 2e-3, Schedule = LrSchedule.Cosine, Epochs = 100, Minutes = 30, Clip = 1, Dropout = 0.2f, Init = InitScheme.Book,
    };

    /// <summary>Penn Treebank with two 400-unit LSTM layers, tied embeddings, dropout 0.4 everywhere, 59 minutes.</summary>
    public static TrainingOptions PtbLstm => new()
    {
        Tokenizer = "word", Mode = DataMode.Stream, Cell = CellType.Lstm, Layers = 2, Emb = 400, Hidden = 400, Ctx = 35, Batch = 64,
        Lr = 2e-3, WeightDecay = 0.01, Schedule = LrSchedule.Cosine, Epochs = 100, Minutes = 59, Clip = 0.5, Average = 0.15,
        Dropout = 0.4f, TieWeights = true, Init = InitScheme.SmallUniform,
    };

    /// <summary>Characters with two 512-unit LSTM layers, 64-d embeddings, BPTT 50, dropout 0.3, AdamW 3e-3, 30 minutes.</summary>
    public static TrainingOptions CharLstm => new()
    {
        Tokenizer = "char", Mode = DataMode.Stream, Cell = CellType.Lstm, Layers = 2, Emb = 64, Hidden = 512, Ctx = 50, Batch = 64,
        Lr = 3e-3, Schedule = LrSchedule.Cosine, Epochs = 100, Minutes = 30, Clip = 1, Average = 0.15, Dropout = 0.3f,
        Init = InitScheme.SmallUniform,
    };

    /// <summary>The names Get takes, in the order the help lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["book", "ptb", "char", "ptb-lstm", "char-lstm"];

    /// <summary>The recipe of that name; null is the book's.</summary>
    /// <exception cref="ArgumentException">No preset has that name.</exception>
    public static TrainingOptions Get(string? name) => name switch
    {
        null or "book" => Book,
        "ptb" => Ptb,
        "char" => Char,
        "ptb-lstm" => PtbLstm,
        "char-lstm" => CharLstm,
        _ => throw new ArgumentException($"must be one of {string.Join(", ", Names)}, got '{name}'.", nameof(name)),
    };
}
