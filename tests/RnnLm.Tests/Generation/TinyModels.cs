using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Tests.Generation;

/// <summary>Small randomly initialised models with real tokenizers, for generation and scoring tests.</summary>
internal static class TinyModels
{
    public const string Text = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n";

    /// <summary>
    /// A character (or word) model of Text's vocabulary, weights drawn U(-range, range) so that its distributions are
    /// far from uniform. mode: how Evaluate scores (Ctx and Batch small, so eval runs several windows).
    /// </summary>
    public static LanguageModel Create(string tokenizer = "char", CellType cell = CellType.Elman, ulong seed = 7,
        DataMode mode = DataMode.Stream, int hidden = 16, int layers = 2, float range = 0.6f, string? text = null, bool tie = false)
    {
        text ??= Text;
        Tokenizer tok = tokenizer == "word" ? WordTokenizer.Build(text) : CharTokenizer.Build(text);
        var options = new TrainingOptions
        {
            Tokenizer = tokenizer, Mode = mode, Cell = cell, Emb = 8, Hidden = hidden, Layers = layers, Ctx = 5, Batch = 3,
            Threads = 1, TieWeights = tie,
        };
        var model = new RecurrentLanguageModel(options.ModelConfig(tok.VocabSize, tok.PadId), 1);
        Initialization.Apply(model, InitScheme.SmallUniform, new Rng(seed), range);
        model.Eval();
        return new LanguageModel(model, tok, options);
    }
}
