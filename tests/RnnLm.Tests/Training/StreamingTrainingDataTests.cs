using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Tests.Data;
using RnnLm.Training;

namespace RnnLm.Tests.Training;

/// <summary>Stream-mode data built from corpus files piece by piece is exactly the data built from their text.</summary>
public class StreamingTrainingDataTests
{
    private static TrainingOptions Stream(string tokenizer) => new()
    {
        Tokenizer = tokenizer, Mode = DataMode.Stream, Layers = 1, Emb = 8, Hidden = 8, Ctx = 35, Batch = 16, Threads = 1,
        ValidFraction = 0.05,
    };

    /// <summary>Every input and target of every batch of epoch 0.</summary>
    private static int[] Contents(BatchDataset? d)
    {
        Assert.NotNull(d);
        var all = new List<int>();
        var b = d.CreateBatch();
        for (int k = 0; k < d.BatchCount; k++)
        {
            d.Fill(0, k, b);
            all.AddRange(b.InputSpan);
            all.AddRange(b.TargetSpan);
        }
        return all.ToArray();
    }

    private static void AssertSame(TrainingData fromText, TrainingData fromFiles, string textIds, string fileIds)
    {
        Assert.Equal(fromText.Tokenizer.ToBytes(), fromFiles.Tokenizer.ToBytes());
        Assert.Equal(File.ReadAllBytes(textIds), File.ReadAllBytes(fileIds));
        Assert.NotNull(fromFiles.TrainIds);
        Assert.Equal(fromText.Train.BatchCount, fromFiles.Train.BatchCount);
        Assert.Equal(fromText.Train.TargetTokenCount, fromFiles.Train.TargetTokenCount);
        Assert.Equal(Contents(fromText.Valid), Contents(fromFiles.Valid));
    }

    [Theory]
    [InlineData("char", "tinyshakespeare", "input.txt")]
    [InlineData("word", "ptb", "ptb.train.txt")]
    public void HeldOutValidationFromFilesEqualsTheTextPath(string tokenizer, string folder, string file)
    {
        using var tmp = new TempDir();
        var o = Stream(tokenizer);
        string path = DataPaths.File(folder, file);
        using var fromText = TrainingData.Build(o, DataPaths.Text(folder, file), null, idsPath: tmp.File("text.ids"));
        using var fromFiles = TrainingData.FromFiles(o, path, null, idsPath: tmp.File("run/train.ids"), chunkChars: 4096);
        AssertSame(fromText, fromFiles, tmp.File("text.ids"), tmp.File("run/train.ids"));
        Assert.Equal(["train.ids"], Directory.GetFiles(tmp.File("run")).Select(Path.GetFileName));
    }

    [Fact]
    public void AValidationFileFromFilesEqualsTheTextPath()
    {
        using var tmp = new TempDir();
        var o = Stream("word") with { VocabSize = 5000 };
        string train = DataPaths.File("ptb", "ptb.train.txt"), valid = DataPaths.File("ptb", "ptb.valid.txt");
        using var fromText = TrainingData.Build(o, DataPaths.Text("ptb", "ptb.train.txt"), DataPaths.Text("ptb", "ptb.valid.txt"), idsPath: tmp.File("a.ids"));
        using var fromFiles = TrainingData.FromFiles(o, train, valid, idsPath: tmp.File("b.ids"), chunkChars: 4096);
        AssertSame(fromText, fromFiles, tmp.File("a.ids"), tmp.File("b.ids"));
    }

    [Fact]
    public void Gpt2FromFilesEqualsTheTextPath()
    {
        using var tmp = new TempDir();
        string text = DataPaths.Text("warandpeace", "warandpeace.txt")[..150_000];
        File.WriteAllText(tmp.File("slice.txt"), text);
        var o = Stream("gpt2");
        using var fromText = TrainingData.Build(o, text, null, idsPath: tmp.File("a.ids"));
        using var fromFiles = TrainingData.FromFiles(o, tmp.File("slice.txt"), null, idsPath: tmp.File("b.ids"), chunkChars: 4096);
        AssertSame(fromText, fromFiles, tmp.File("a.ids"), tmp.File("b.ids"));
    }

    [Fact]
    public void ResumingWithTheRunsTokenizerReusesTheIdsFile()
    {
        using var tmp = new TempDir();
        var o = Stream("char");
        string path = DataPaths.File("tinyshakespeare", "input.txt");
        Tokenizer tok;
        using (var first = TrainingData.FromFiles(o, path, null, idsPath: tmp.File("train.ids"), chunkChars: 4096)) tok = first.Tokenizer;
        var written = File.GetLastWriteTimeUtc(tmp.File("train.ids"));
        byte[] bytes = File.ReadAllBytes(tmp.File("train.ids"));
        using var resumed = TrainingData.FromFiles(o, path, null, tok, tmp.File("train.ids"), chunkChars: 4096);
        Assert.Equal(written, File.GetLastWriteTimeUtc(tmp.File("train.ids")));
        Assert.Equal(bytes, File.ReadAllBytes(tmp.File("train.ids")));
        Assert.Same(tok, resumed.Tokenizer);
    }

    [Fact]
    public void NoIdsFileIsLeftWhenReadingFailsMidWay()
    {
        using var tmp = new TempDir();
        // Half a megabyte of good text, then a byte that is not UTF-8 near the end.
        var bytes = File.ReadAllBytes(DataPaths.File("tinyshakespeare", "input.txt"))[..500_000];
        bytes[^20] = 0xFF;
        File.WriteAllBytes(tmp.File("bad.txt"), bytes);
        var o = Stream("char");
        string ids = tmp.File("run/train.ids");

        // Resuming with the run's tokenizer and no ids file yet: the corpus is first read while the ids are written.
        var tok = CharTokenizer.Build(DataPaths.Text("tinyshakespeare", "input.txt"));
        var e = Assert.Throws<CorpusException>(() => TrainingData.FromFiles(o, tmp.File("bad.txt"), null, tok, ids, chunkChars: 4096));
        Assert.Equal(bytes.Length - 20, e.ByteOffset);
        Assert.False(File.Exists(ids));
        Assert.Empty(Directory.GetFiles(tmp.File("run")));

        // A new run fails in its first pass, before anything is written; a complete file from before is left as it was.
        TokenIdFile.Write(ids, [1, 2, 3], tok.VocabSize);
        byte[] before = File.ReadAllBytes(ids);
        Assert.Throws<CorpusException>(() => TrainingData.FromFiles(o, tmp.File("bad.txt"), null, idsPath: ids, chunkChars: 4096));
        Assert.Equal(before, File.ReadAllBytes(ids));
        Assert.Single(Directory.GetFiles(tmp.File("run")));

        // A bad validation file fails before the training ids are written.
        File.Delete(ids);
        Assert.Throws<CorpusException>(() => TrainingData.FromFiles(o, DataPaths.File("tinyshakespeare", "input.txt"), tmp.File("bad.txt"), idsPath: ids));
        Assert.False(File.Exists(ids));
    }

    [Fact]
    public void EvaluatingAFileInStreamModeEqualsEvaluatingItsText()
    {
        using var tmp = new TempDir();
        string text = DataPaths.Text("tinyshakespeare", "input.txt")[..30_000];
        File.WriteAllText(tmp.File("eval.txt"), text);
        var o = Stream("char") with { Ctx = 20, Batch = 4 };
        var tok = CharTokenizer.Build(text);
        var model = new RecurrentLanguageModel(o.ModelConfig(tok.VocabSize, tok.PadId), 1);
        Initialization.Apply(model, o.Init, new Rng(5), o.InitRange);
        model.Eval();
        using var lm = new LanguageModel(model, tok, o);
        var fromText = lm.Evaluate(text);
        var fromFile = lm.EvaluateFile(tmp.File("eval.txt"));
        Assert.Equal((fromText.Loss, fromText.Tokens, fromText.Characters), (fromFile.Loss, fromFile.Tokens, fromFile.Characters));
        Assert.Equal(0, fromFile.Unknown.Count);
        // Every character but the first is a target, each scored once.
        Assert.Equal(text.Length - 1, fromFile.Tokens);
        Assert.Equal(text.Length - 1, fromFile.Characters);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EvaluationScoresEveryTokenAndBitsPerCharacterComeFromTheLoss(int streams)
    {
        // A text whose length leaves a remainder for any batch and window: the tail must be scored too.
        string text = DataPaths.Text("tinyshakespeare", "input.txt")[..1_003];
        var o = Stream("char") with { Ctx = 16, Batch = streams };
        var tok = CharTokenizer.Build(text);
        var model = new RecurrentLanguageModel(o.ModelConfig(tok.VocabSize, tok.PadId), 1);
        Initialization.Apply(model, o.Init, new Rng(9), o.InitRange);
        model.Eval();
        using var lm = new LanguageModel(model, tok, o);
        var s = lm.Evaluate(text);
        Assert.Equal(text.Length - 1, s.Tokens);
        Assert.Equal(text.Length - 1, s.Characters);

        // By hand: the loss of each next character in one forward pass over the whole text (batch 1).
        var ids = tok.Encode(text);
        int T = ids.Length - 1, V = tok.VocabSize;
        var logits = new float[T * V];
        model.Forward(ids.AsSpan(0, T), 1, T, logits);
        double total = 0;
        for (int t = 0; t < T; t++)
        {
            var row = logits.AsSpan(t * V, V);
            double max = double.NegativeInfinity, z = 0;
            foreach (var v in row) max = Math.Max(max, v);
            foreach (var v in row) z += Math.Exp(v - max);
            total += max + Math.Log(z) - row[ids[t + 1]];
        }
        double bpc = total / Math.Log(2) / (text.Length - 1);
        if (streams == 1)
        {
            Assert.Equal(total, s.Loss * s.Tokens, total * 1e-5);
            Assert.Equal(bpc, s.BitsPerCharacter, 1e-5);
        }
        else Assert.InRange(s.BitsPerCharacter, bpc * 0.9, bpc * 1.1); // other contexts at the stream starts
        Assert.Equal(s.Loss * s.Tokens / s.Characters / Math.Log(2), s.BitsPerCharacter, 1e-12);
    }
}
