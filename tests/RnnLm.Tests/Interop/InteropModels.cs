using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Tests.Interop;

/// <summary>Small random models of every cell for the interop tests, and a model folder of one.</summary>
internal static class InteropModels
{
    public const string Text = "the quick brown fox jumps over the lazy dog\nand the dog sleeps\n";

    public static IEnumerable<object[]> Cells() => Enum.GetValues<CellType>().Select(c => new object[] { c });

    /// <summary>A randomly initialised character model (seeded; PyTorch's initialisation for GRU/LSTM, the book's for Elman, biases nonzero).</summary>
    public static LanguageModel Random(CellType cell, int layers = 2, int emb = 6, int hidden = 7, bool tie = false, ulong seed = 3)
    {
        var tokenizer = CharTokenizer.Build(Text, withUnknown: true);
        var options = new TrainingOptions { Tokenizer = "char", Mode = DataMode.Stream, Cell = cell, Layers = layers, Emb = emb, Hidden = hidden, TieWeights = tie };
        var model = new RecurrentLanguageModel(options.ModelConfig(tokenizer.VocabSize, tokenizer.PadId));
        Initialization.Apply(model, cell == CellType.Elman ? InitScheme.Book : InitScheme.SmallUniform, new Rng(seed), 0.5f);
        // Nonzero biases everywhere, so that a bias put in the wrong place shows.
        var rng = new Rng(seed + 1);
        foreach (var (name, p) in model.NamedParameters())
            if (p.Shape.Length == 1) Initialization.Uniform(p.Value.Data, -0.5f, 0.5f, rng);
        model.Embedding.ZeroPaddingRow();
        model.Eval();
        return new LanguageModel(model, tokenizer, options);
    }

    /// <summary>Saves the model as dir/best.ckpt, a model folder the CLI reads.</summary>
    public static void SaveFolder(LanguageModel lm, string dir) =>
        Checkpoint.Capture(lm.Model, lm.Tokenizer, new CheckpointHeader { Model = lm.Model.Config, Training = lm.Options })
            .Save(Path.Combine(dir, ModelDirectory.BestFile));

    /// <summary>Random ids [batch, steps] in [0, vocab).</summary>
    public static int[] Ids(int vocab, int batch, int steps, ulong seed = 11)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, batch * steps).Select(_ => rng.NextInt(vocab)).ToArray();
    }

    public static float[] Logits(LanguageModel lm, int[] ids, int batch, int steps)
    {
        var logits = new float[batch * steps * lm.Model.Config.VocabSize];
        lm.Model.Forward(ids, batch, steps, logits);
        return logits;
    }

    /// <summary>The folder of the PyTorch-made test files (see TestData/README.md).</summary>
    public static string PyTorchData(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "pytorch", name);
}
