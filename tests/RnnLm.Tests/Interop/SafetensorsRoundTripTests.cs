using RnnLm.Interop;
using RnnLm.Nn;
using RnnLm.Tests.Cli;
using RnnLm.Training;

namespace RnnLm.Tests.Interop;

/// <summary>
/// Export then import gives back the same weights, bit for bit, and the same logits, for every cell; the file carries
/// PyTorch's names; the files PyTorch wrote (TestData/pytorch, made by bench/pytorch_interop.py) import with the logits
/// PyTorch computed; and weights or vocabularies that do not fit are refused naming what is wrong.
/// </summary>
public class SafetensorsRoundTripTests
{
    [Theory]
    [MemberData(nameof(InteropModels.Cells), MemberType = typeof(InteropModels))]
    public void ExportThenImportGivesIdenticalWeightsAndLogits(CellType cell) => RoundTrip(InteropModels.Random(cell));

    [Fact]
    public void ATiedHeadWithAProjectionRoundTrips() => RoundTrip(InteropModels.Random(CellType.Lstm, tie: true, emb: 5, hidden: 7));

    private static void RoundTrip(LanguageModel lm)
    {
        using var _ = lm;
        using var tmp = new CliRunner.TempDir();
        var result = SafetensorsExport.Write(lm, tmp.File("m.safetensors"));
        Assert.Equal(tmp.File(VocabularyFile.FileName), result.VocabPath);
        Assert.Equal(VocabularyFile.Tokens(lm.Tokenizer), VocabularyFile.Read(result.VocabPath));
        var imported = SafetensorsImport.Read(result.Path, result.VocabPath);
        Assert.True(imported.FromMetadata);
        Assert.Equal(Enumerable.Range(0, lm.Model.Config.VocabSize), imported.IdMap);
        using var back = imported.Load();
        Assert.Equal(lm.Model.Config, back.Model.Config);
        Assert.Equal(lm.Options, back.Options);
        Assert.Equal(lm.Tokenizer.ToBytes(), back.Tokenizer.ToBytes());
        foreach (var ((name, p), (name2, q)) in lm.Model.NamedParameters().Zip(back.Model.NamedParameters()))
        {
            Assert.Equal(name, name2);
            Assert.Equal(p.Value.Data, q.Value.Data);
        }
        int V = lm.Model.Config.VocabSize;
        var ids = InteropModels.Ids(V, 2, 9);
        Assert.Equal(InteropModels.Logits(lm, ids, 2, 9), InteropModels.Logits(back, ids, 2, 9));
        // Saved as a model folder, it loads as any run's best.ckpt does.
        imported.Save(tmp.File("folder"));
        using var loaded = LanguageModel.Load(tmp.File("folder"));
        Assert.Equal(InteropModels.Logits(lm, ids, 2, 9), InteropModels.Logits(loaded, ids, 2, 9));
    }

    [Theory]
    [InlineData(CellType.Elman, new[] { "embedding.weight", "rnn.rnn_units.0.Wh", "rnn.rnn_units.0.Uh", "rnn.rnn_units.0.b", "rnn.rnn_units.1.Wh", "rnn.rnn_units.1.Uh", "rnn.rnn_units.1.b", "fc.weight", "fc.bias" })]
    [InlineData(CellType.Gru, new[] { "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1", "fc.weight", "fc.bias" })]
    public void TheFileUsesPyTorchsNamesAndLayouts(CellType cell, string[] names)
    {
        using var lm = InteropModels.Random(cell, emb: 6, hidden: 7);
        var file = SafetensorsExport.ToFile(lm);
        Assert.Equal(names, file.Tensors.Select(t => t.Name));
        int V = lm.Model.Config.VocabSize, G = cell == CellType.Gru ? 3 : 1;
        Assert.Equal(new long[] { V, 6 }, file.Find("embedding.weight")!.Shape);
        Assert.Equal(new long[] { V, 7 }, file.Find("fc.weight")!.Shape);
        if (cell == CellType.Elman) Assert.Equal(new long[] { 6, 7 }, file.Find("rnn.rnn_units.0.Wh")!.Shape);   // the book's x·Wh
        else Assert.Equal(new long[] { G * 7, 6 }, file.Find("rnn.weight_ih_l0")!.Shape);                         // PyTorch's [out, in]
        Assert.All(file.Tensors, t => Assert.Equal(SafetensorsDType.F32, t.DType));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Contains(SafetensorsExport.ConfigKey, file.Metadata.Keys);
        Assert.Contains(SafetensorsExport.TokenizerKey, file.Metadata.Keys);
    }

    [Theory]
    [InlineData("elman", "word", new[] { "<unk>" })]
    [InlineData("gru", "char", new string[0])]
    [InlineData("lstm", "word", new string[0])]
    public void WeightsPyTorchWroteImportWithTheLogitsPyTorchComputed(string cell, string kind, string[] added)
    {
        var imported = SafetensorsImport.Read(InteropModels.PyTorchData($"{cell}.safetensors"), InteropModels.PyTorchData($"{cell}.vocab.json"));
        Assert.False(imported.FromMetadata);
        Assert.Equal(CellTypes.Parse(cell), imported.Checkpoint.Header.Model.Cell);
        Assert.Equal(kind, imported.Checkpoint.Tokenizer.Kind);
        Assert.Equal(added, imported.AddedTokens);
        using var lm = imported.Load();
        var c = LogitCheck.Compare(lm, imported.IdMap, InteropModels.PyTorchData($"{cell}.check.safetensors"));
        Assert.True(c.Passed, $"{c.Failures} of {c.Values} logits beyond tolerance; max abs {c.MaxAbs}");
        Assert.True(c.Values >= 100);
        // The ids of the PyTorch vocabulary map onto tokens of the same text.
        var tokens = VocabularyFile.Read(InteropModels.PyTorchData($"{cell}.vocab.json"));
        for (int i = 0; i < tokens.Length; i++)
            if (tokens[i] != "<pad>") Assert.Equal(tokens[i], lm.Tokenizer.TokenText(imported.IdMap[i]));
        Assert.Equal(0, imported.IdMap[Array.IndexOf(tokens, "<pad>")]);
    }

    [Fact]
    public void AnAddedTokenIsNeverPredicted()
    {
        var imported = SafetensorsImport.Read(InteropModels.PyTorchData("elman.safetensors"), InteropModels.PyTorchData("elman.vocab.json"));
        using var lm = imported.Load();
        int V = lm.Model.Config.VocabSize, unk = lm.Tokenizer.UnknownId!.Value;
        Assert.DoesNotContain(unk, imported.IdMap);
        var ids = InteropModels.Ids(V, 3, 12).Select(i => i == unk ? 2 : i).ToArray();
        var logits = InteropModels.Logits(lm, ids, 3, 12);
        for (int row = 0; row < 36; row++)
        {
            var r = logits.AsSpan(row * V, V);
            float best = float.NegativeInfinity;
            for (int j = 0; j < V; j++) if (j != unk) best = Math.Max(best, r[j]);
            Assert.True(r[unk] < best - SafetensorsImport.AddedTokenMargin, $"row {row}: <unk> {r[unk]} against {best}");
        }
    }

    /// <summary>A copy of a PyTorch test file with its tensors changed by edit.</summary>
    private static string Edited(CliRunner.TempDir tmp, string cell, Func<List<SafetensorsTensor>, List<SafetensorsTensor>> edit)
    {
        var file = SafetensorsFile.Read(InteropModels.PyTorchData($"{cell}.safetensors"));
        string path = tmp.File($"{cell}-edited.safetensors");
        new SafetensorsFile(edit(file.Tensors.ToList()), file.Metadata).Write(path, overwrite: true);
        return path;
    }

    [Fact]
    public void MissingExtraAndMisshapenTensorsAreRefusedNamingThem()
    {
        using var tmp = new CliRunner.TempDir();
        string vocab = InteropModels.PyTorchData("lstm.vocab.json");
        var missing = Edited(tmp, "lstm", t => t.Where(x => x.Name != "rnn.bias_hh_l1").ToList());
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(missing, vocab));
        Assert.Contains("rnn.bias_hh_l1", e.Message);
        Assert.Contains("lacks", e.Message);

        var extra = Edited(tmp, "lstm", t => [.. t, SafetensorsTensor.FromFloats("rnn.weight_hr_l0", [1f, 2f], 2)]);
        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(extra, vocab));
        Assert.Contains("rnn.weight_hr_l0", e.Message);
        Assert.Contains("no place for", e.Message);

        var misshapen = Edited(tmp, "lstm", t => t.Select(x => x.Name == "fc.weight"
            ? new SafetensorsTensor(x.Name, x.DType, [x.Shape[1], x.Shape[0]], x.Data) : x).ToList());
        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(misshapen, vocab));
        Assert.Contains("'fc.weight' has shape [5, 10]", e.Message);
        Assert.Contains("needs [10, 5]", e.Message);

        var notGated = Edited(tmp, "gru", t => t.Select(x => x.Name == "rnn.weight_hh_l0"
            ? new SafetensorsTensor(x.Name, x.DType, [x.Shape[0] / 3 * 2, x.Shape[1]], x.Data[..(x.Data.Length / 3 * 2)]) : x).ToList());
        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(notGated, InteropModels.PyTorchData("gru.vocab.json")));
        Assert.Contains("neither", e.Message);

        var none = Edited(tmp, "gru", t => t.Where(x => !x.Name.StartsWith("rnn.")).ToList());
        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(none, InteropModels.PyTorchData("gru.vocab.json")));
        Assert.Contains("no recurrent layers", e.Message);
    }

    [Fact]
    public void AVocabularyThatDoesNotFitIsRefused()
    {
        using var tmp = new CliRunner.TempDir();
        string weights = InteropModels.PyTorchData("gru.safetensors");
        var tokens = VocabularyFile.Read(InteropModels.PyTorchData("gru.vocab.json")).ToList();

        VocabularyFile.Write(tmp.File("short.json"), tokens.Take(tokens.Count - 1).ToList());
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(weights, tmp.File("short.json")));
        Assert.Contains("short.json has 9 tokens", e.Message);
        Assert.Contains("10 rows", e.Message);

        VocabularyFile.Write(tmp.File("dup.json"), [.. tokens.Take(tokens.Count - 1), tokens[1]]);
        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(weights, tmp.File("dup.json")));
        Assert.Contains("appears twice", e.Message);

        VocabularyFile.Write(tmp.File("space.json"), [.. tokens.Take(tokens.Count - 1), "two words"]);
        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(weights, tmp.File("space.json")));
        Assert.Contains("whitespace", e.Message);

        File.WriteAllText(tmp.File("object.json"), "{\"a\": 1}");
        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(weights, tmp.File("object.json")));
        Assert.Contains("JSON array", e.Message);

        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(weights));
        Assert.Contains("--vocab", e.Message);

        // A file rnnlm wrote checks a given vocabulary against its own.
        using var lm = InteropModels.Random(CellType.Gru);
        var exported = SafetensorsExport.Write(lm, tmp.File("own/m.safetensors"));
        var own = VocabularyFile.Read(exported.VocabPath);
        (own[3], own[4]) = (own[4], own[3]);
        VocabularyFile.Write(tmp.File("swapped.json"), own);
        e = Assert.Throws<InvalidDataException>(() => SafetensorsImport.Read(exported.Path, tmp.File("swapped.json")));
        Assert.Contains("token 3", e.Message);
    }

    [Fact]
    public void ImportRefusesToWriteOverARunOrAModelUnlessForced()
    {
        using var tmp = new CliRunner.TempDir();
        var imported = SafetensorsImport.Read(InteropModels.PyTorchData("lstm.safetensors"), InteropModels.PyTorchData("lstm.vocab.json"));
        imported.Save(tmp.File("m"));
        Assert.Contains("already holds a model", Assert.Throws<IOException>(() => imported.Save(tmp.File("m"))).Message);
        imported.Save(tmp.File("m"), overwrite: true);
        File.WriteAllText(tmp.File("m/" + ModelDirectory.LastFile), "a run");
        Assert.Contains("training run", Assert.Throws<IOException>(() => imported.Save(tmp.File("m"), overwrite: true)).Message);
    }
}
