using RnnLm.Training;

namespace RnnLm.Tests.Cli;

/// <summary>Bad input gets a clear message and a non-zero exit code, and nothing saved is lost.</summary>
public class BadInputTests : IClassFixture<BadInputTests.TrainedCharModel>
{
    /// <summary>A tiny character model, trained once for the tests that need a checkpoint.</summary>
    public sealed class TrainedCharModel : IDisposable
    {
        public CliRunner.TempDir Dir { get; } = new();
        public string Run => Dir.File("run");

        public TrainedCharModel()
        {
            string text = Dir.File("small.txt");
            File.WriteAllText(text, string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog.\n", 200)));
            var r = CliRunner.Run("train", "--data", text, "--tokenizer", "char", "--mode", "stream", "--emb", "8", "--hidden", "8",
                "--layers", "1", "--ctx", "8", "--batch", "4", "--steps", "5", "--sample", "0", "--out", Run);
            if (r.ExitCode != 0) throw new InvalidOperationException(r.ToString());
        }

        public void Dispose() => Dir.Dispose();
    }

    private readonly TrainedCharModel _model;
    public BadInputTests(TrainedCharModel model) => _model = model;

    private static void AssertFails(CliRunner.Result r, params string[] messageParts)
    {
        Assert.True(r.ExitCode != 0, "expected a non-zero exit code\n" + r);
        foreach (var part in messageParts)
            Assert.True(r.Err.Contains(part, StringComparison.OrdinalIgnoreCase), $"stderr should mention '{part}'\n{r}");
        Assert.DoesNotContain("   at ", r.Err); // a message, not a stack trace
    }

    [Fact]
    public void MissingTrainingFile()
    {
        using var tmp = new CliRunner.TempDir();
        AssertFails(CliRunner.Run("train", "--data", tmp.File("nope.txt"), "--out", tmp.File("o")), "nope.txt");
        Assert.False(Directory.Exists(tmp.File("o")) && Directory.EnumerateFiles(tmp.File("o")).Any(), "no output for a failed run");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t\n  ")]
    public void EmptyOrWhitespaceCorpus(string content)
    {
        using var tmp = new CliRunner.TempDir();
        File.WriteAllText(tmp.File("e.txt"), content);
        AssertFails(CliRunner.Run("train", "--data", tmp.File("e.txt"), "--out", tmp.File("o")), "e.txt");
    }

    [Fact]
    public void BinaryDataAndInvalidUtf8SayWhere()
    {
        using var tmp = new CliRunner.TempDir();
        File.WriteAllBytes(tmp.File("bin.txt"), [0x68, 0x69, 0x00, 0x01, 0x02, 0xFF]);
        AssertFails(CliRunner.Run("train", "--data", tmp.File("bin.txt"), "--out", tmp.File("o")), "bin.txt");
        File.WriteAllBytes(tmp.File("bad.txt"), [.. "hello\nworld "u8.ToArray(), 0xC3, 0x28, .. "\n"u8.ToArray()]);
        var r = CliRunner.Run("train", "--data", tmp.File("bad.txt"), "--out", tmp.File("o"));
        AssertFails(r, "bad.txt", "UTF-8");
        Assert.Matches("(offset|byte|line)", r.Err);
    }

    [Fact]
    public void StreamModeReportsBadCorporaAlikeAndLeavesNoFiles()
    {
        using var tmp = new CliRunner.TempDir();
        File.WriteAllBytes(tmp.File("e.txt"), []);
        File.WriteAllText(tmp.File("w.txt"), "   \n\t\n  ");
        File.WriteAllBytes(tmp.File("bin.txt"), [0x68, 0x69, 0x00, 0x01, 0x02, 0xFF]);
        // Bad UTF-8 after the first 64 KiB block: found while reading, not at the start.
        File.WriteAllBytes(tmp.File("bad.txt"), [.. System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("hello world\n", 8000))), 0xC3, 0x28, .. "\n"u8.ToArray()]);
        (string File, string[] Says)[] cases =
        [
            ("nope.txt", ["nope.txt", "does not exist"]), ("e.txt", ["e.txt", "empty"]), ("w.txt", ["w.txt", "whitespace"]),
            ("bin.txt", ["bin.txt", "binary", "offset 2"]), ("bad.txt", ["bad.txt", "UTF-8", "offset 96000", "line 8001"]),
        ];
        foreach (var (file, says) in cases)
        {
            string o = tmp.File("o-" + file);
            AssertFails(CliRunner.Run("train", "--data", tmp.File(file), "--mode", "stream", "--tokenizer", "char", "--out", o), says);
            Assert.False(Directory.Exists(o) && Directory.EnumerateFiles(o).Any(), "no output for a failed run");
        }
        // A bad validation file too, with a good training file.
        AssertFails(CliRunner.Run("train", "--data", SharedFolder.Combine("data", "tinyshakespeare", "input.txt"), "--valid", tmp.File("bad.txt"),
            "--mode", "stream", "--tokenizer", "char", "--out", tmp.File("o-valid")), "bad.txt", "offset 96000");
        Assert.False(Directory.Exists(tmp.File("o-valid")) && Directory.EnumerateFiles(tmp.File("o-valid")).Any(), "no output for a failed run");
        // And eval of a stream-mode model.
        AssertFails(CliRunner.Run("eval", "--model", _model.Run, "--data", tmp.File("bad.txt")), "bad.txt", "offset 96000");
        AssertFails(CliRunner.Run("eval", "--model", _model.Run, "--data", tmp.File("nope.txt")), "nope.txt", "does not exist");
    }

    [Theory]
    [InlineData("--lr", "-1", "--lr")]
    [InlineData("--layers", "0", "--layers")]
    [InlineData("--dropout", "1.5", "--dropout")]
    [InlineData("--weight-dropout", "-0.1", "--weight-dropout")]
    [InlineData("--tokenizer", "bytes", "--tokenizer")]
    [InlineData("--mode", "sideways", "--mode")]
    [InlineData("--batch", "abc", "abc")]
    [InlineData("--sample", "-1", "--sample")]
    [InlineData("--valid-every", "-2", "--valid-every")]
    [InlineData("--cell", "rnn", "--cell")]
    public void OptionsOutOfRange(string option, string value, string mentioned)
    {
        using var tmp = new CliRunner.TempDir();
        AssertFails(CliRunner.Run("train", "--data", SharedFolder.Combine("data", "tinyshakespeare", "input.txt"), option, value, "--out", tmp.File("o")), mentioned);
    }

    [Fact]
    public void ABadOutputFolderIsReportedBeforeAnyWork()
    {
        using var tmp = new CliRunner.TempDir();
        File.WriteAllText(tmp.File("afile"), "x");
        string big = SharedFolder.Combine("data", "tinyshakespeare", "input.txt");
        // In sentence mode the old check came after the first training step; now no step runs.
        var first = CliRunner.Run("train", "--data", big, "--out", tmp.File("afile"), "--sample", "0");
        AssertFails(first, "afile", "is a file");
        Assert.DoesNotContain("step ", first.Out + first.Err);
        AssertFails(CliRunner.Run("train", "--data", big, "--out", Path.Combine(tmp.File("afile"), "run"), "--sample", "0"), "afile", "is a file");
        AssertFails(CliRunner.Run("train", "--data", big, "--out", "/proc/rnnlm-run", "--sample", "0"), "/proc/rnnlm-run", "cannot be written");
        Assert.Equal("x", File.ReadAllText(tmp.File("afile")));
    }

    [Fact]
    public void CorruptTruncatedOrForeignCheckpoints()
    {
        using var tmp = new CliRunner.TempDir();
        byte[] good = File.ReadAllBytes(Path.Combine(_model.Run, ModelDirectory.BestFile));

        var corrupt = (byte[])good.Clone();
        corrupt[corrupt.Length / 2] ^= 0x5A;
        File.WriteAllBytes(tmp.File("corrupt.ckpt"), corrupt);
        AssertFails(CliRunner.Run("generate", "--model", tmp.File("corrupt.ckpt")), "corrupt");

        File.WriteAllBytes(tmp.File("short.ckpt"), good.AsSpan(0, good.Length / 3).ToArray());
        AssertFails(CliRunner.Run("generate", "--model", tmp.File("short.ckpt")), "truncated");

        var other = (byte[])good.Clone();
        BitConverter.GetBytes(99).CopyTo(other, 8);
        File.WriteAllBytes(tmp.File("v99.ckpt"), other);
        AssertFails(CliRunner.Run("generate", "--model", tmp.File("v99.ckpt")), "version 99");

        File.WriteAllText(tmp.File("text.ckpt"), "just some text");
        AssertFails(CliRunner.Run("eval", "--model", tmp.File("text.ckpt"), "--data", SharedFolder.Combine("data", "tinyshakespeare", "input.txt")), "not an RnnLm checkpoint");

        AssertFails(CliRunner.Run("generate", "--model", tmp.File("missing")), "missing");

        // A readable checkpoint whose tensor does not fit its own config: the message names the file and the tensor.
        var misfit = Checkpoint.Load(Path.Combine(_model.Run, ModelDirectory.BestFile));
        misfit.Parameters["fc.bias"] = new float[misfit.Parameters["fc.bias"].Length + 5];
        misfit.Save(tmp.File("misfit.ckpt"));
        AssertFails(CliRunner.Run("generate", "--model", tmp.File("misfit.ckpt")), "misfit.ckpt", "fc.bias");
        // One whose header needs more values than it holds is refused before a model of that size is built.
        var small = Checkpoint.Load(Path.Combine(_model.Run, ModelDirectory.BestFile));
        small.Parameters["fc.bias"] = new float[1];
        small.Save(tmp.File("small.ckpt"));
        AssertFails(CliRunner.Run("generate", "--model", tmp.File("small.ckpt")), "small.ckpt", "parameter values");
    }

    [Fact]
    public void APromptWithUnseenCharactersSaysWhich()
    {
        var r = CliRunner.Run("generate", "--model", _model.Run, "--prompt", "the fox€Z😀", "--unknown", "error");
        AssertFails(r, "'€' (U+20AC)", "'Z' (U+005A)", "'😀' (U+1F600)");
        Assert.DoesNotContain("U+D83D", r.Err);       // the emoji by its code point, not as two surrogate halves
        Assert.DoesNotContain("(Parameter", r.Err);   // no .NET suffix
        Assert.DoesNotContain("the fox", r.Out);
        AssertFails(CliRunner.Run("generate", "--model", _model.Run, "--prompt", "fox€", "--unknown", "replace"), "no unknown token", "€");

        // The default skips them and says how many and which.
        var skipped = CliRunner.Run("generate", "--model", _model.Run, "--prompt", "the fox€€Z😀", "--max-tokens", "5");
        Assert.True(skipped.ExitCode == 0, skipped.ToString());
        Assert.StartsWith("the fox", skipped.Out);
        Assert.Contains("skipped 4 character(s)", skipped.Err);
        Assert.Contains("'€' (U+20AC) ×2", skipped.Err);
    }

    [Fact]
    public void EvalSkipsUnknownCharactersByDefaultOrRefusesThemByName()
    {
        using var tmp = new CliRunner.TempDir();
        string text = tmp.File("odd.txt");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("the lazy dog jumps over the quick brown fox.\n", 20)) + "a ™ here\n");
        var ok = CliRunner.Run("eval", "--model", _model.Run, "--data", text);
        Assert.True(ok.ExitCode == 0 && ok.Out.Contains("bits_per_char="), ok.ToString());
        Assert.Contains("'™' (U+2122)", ok.Err);
        AssertFails(CliRunner.Run("eval", "--model", _model.Run, "--data", text, "--unknown", "error"), "odd.txt", "'™' (U+2122)");
        AssertFails(CliRunner.Run("eval", "--model", _model.Run, "--data", text, "--unknown", "maybe"), "--unknown", "maybe");
    }

    [Theory]
    [InlineData("--temperature", "0")]
    [InlineData("--top-p", "1.5")]
    [InlineData("--top-k", "-2")]
    [InlineData("--max-tokens", "-1")]
    public void BadSamplingOptions(string option, string value)
    {
        AssertFails(CliRunner.Run("generate", "--model", _model.Run, option, value), value);
    }

    [Fact]
    public void AnExistingRunIsNotOverwrittenWithoutResumeOrForce()
    {
        string last = Path.Combine(_model.Run, ModelDirectory.LastFile);
        byte[] before = File.ReadAllBytes(last);
        var r = CliRunner.Run("train", "--data", SharedFolder.Combine("data", "tinyshakespeare", "input.txt"), "--tokenizer", "char",
            "--out", _model.Run, "--steps", "1");
        AssertFails(r, "--resume", "--force");
        Assert.Equal(before, File.ReadAllBytes(last));
    }

    [Fact]
    public void ResumeWithoutACheckpointSaysSo()
    {
        using var tmp = new CliRunner.TempDir();
        AssertFails(CliRunner.Run("train", "--resume", "--out", tmp.File("none")), "no such checkpoint");
    }
}
