using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Tests.Cli;

/// <summary>The gated cells through the command line: stop and resume, eval and generate, and bad options.</summary>
public class CellCliTests
{
    private static readonly string Shakespeare = SharedFolder.Combine("data", "tinyshakespeare", "input.txt");

    private static string[] SmallRun(string cell, string outDir, params string[] extra) =>
    [
        "train", "--data", Shakespeare, "--tokenizer", "char", "--mode", "stream", "--cell", cell, "--emb", "16", "--hidden", "32",
        "--layers", "2", "--ctx", "16", "--batch", "16", "--lr", "0.003", "--dropout", "0.1", "--weight-dropout", "0.2",
        "--seed", "11", "--valid-every", "10", "--sample", "0", "--out", outDir, .. extra,
    ];

    private static void AssertFails(CliRunner.Result r, params string[] messageParts)
    {
        Assert.True(r.ExitCode != 0, "expected a non-zero exit code\n" + r);
        foreach (var part in messageParts)
            Assert.True(r.Err.Contains(part, StringComparison.OrdinalIgnoreCase), $"stderr should mention '{part}'\n{r}");
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Theory]
    [InlineData("gru")]
    [InlineData("lstm")]
    public void AGatedRunStoppedAndResumedEndsWithTheSameWeightsAndServes(string cell)
    {
        using var tmp = new CliRunner.TempDir();
        string straight = tmp.File("straight"), resumed = tmp.File("resumed");
        var a = CliRunner.Run(SmallRun(cell, straight, "--steps", "24"));
        Assert.True(a.ExitCode == 0, a.ToString());
        var b1 = CliRunner.Run(SmallRun(cell, resumed, "--steps", "13"));
        Assert.True(b1.ExitCode == 0, b1.ToString());
        var b2 = CliRunner.Run("train", "--resume", "--out", resumed, "--steps", "24", "--sample", "0");
        Assert.True(b2.ExitCode == 0, b2.ToString());

        var ca = Checkpoint.Load(Path.Combine(straight, ModelDirectory.LastFile));
        var cb = Checkpoint.Load(Path.Combine(resumed, ModelDirectory.LastFile));
        Assert.Equal(CellTypes.Parse(cell), ca.Header.Model.Cell);
        Assert.Equal(24, cb.Header.OptimizerSteps);
        Assert.Contains("rnn.weight_hh_l1", ca.Parameters.Keys);
        foreach (var (name, values) in ca.Parameters)
            Assert.True(values.AsSpan().SequenceEqual(cb.Parameters[name]), $"{name} differs after stop and resume");
        for (int i = 0; i < ca.OptimizerState.Count; i++)
            Assert.True(ca.OptimizerState[i].AsSpan().SequenceEqual(cb.OptimizerState[i]), $"optimiser buffer {i} differs");

        string held = tmp.File("held.txt");
        File.WriteAllText(held, string.Join('\n', File.ReadLines(Shakespeare).Skip(39000).Take(100)));
        var eval = CliRunner.Run("eval", "--model", resumed, "--data", held);
        Assert.True(eval.ExitCode == 0 && eval.Out.Contains("perplexity="), eval.ToString());
        var gen = CliRunner.Run("generate", "--model", resumed, "--prompt", "ROMEO:", "--max-tokens", "40", "--seed", "2");
        Assert.True(gen.ExitCode == 0 && gen.Out.StartsWith("ROMEO:", StringComparison.Ordinal), gen.ToString());

        var wrongCell = CliRunner.Run("train", "--resume", "--out", resumed, "--cell", cell == "gru" ? "lstm" : "gru", "--steps", "30");
        AssertFails(wrongCell, "--cell", cell);
        Assert.Equal(24, Checkpoint.Load(Path.Combine(resumed, ModelDirectory.LastFile)).Header.OptimizerSteps);
    }

    [Fact]
    public void AnUnknownCellOrAnLstmOptionOnAnotherCellIsRefusedBeforeAnythingIsWritten()
    {
        using var tmp = new CliRunner.TempDir();
        string run = tmp.File("run");
        AssertFails(CliRunner.Run(SmallRun("transformer", run, "--steps", "2")), "--cell", "transformer");
        AssertFails(CliRunner.Run(SmallRun("elman", run, "--steps", "2", "--forget-bias", "1")), "--forget-bias", "lstm", "elman");
        AssertFails(CliRunner.Run("bench", "--config", "ptb", "--cell", "rnn"), "--cell", "rnn");
        Assert.False(Directory.Exists(run), "a refused run must write nothing");
    }

    [Fact]
    public void AnElmanCheckpointOfFormatOneStillLoadsAndScoresAsItDid()
    {
        string ckpt = Path.Combine(AppContext.BaseDirectory, "TestData", "elman-format1.ckpt");
        string text = Path.Combine(AppContext.BaseDirectory, "TestData", "elman-format1.txt");
        var c = Checkpoint.Load(ckpt);
        Assert.Equal(CellType.Elman, c.Header.Model.Cell);
        Assert.Equal(CellType.Elman, c.Header.Training!.Cell);
        // The loss that the build which wrote it printed (TestData/README.md), computed as that build's eval did:
        // the stream in min(batch, (N-1)/(ctx+1)) streams of whole windows.
        using (var lm = LanguageModel.Load(ckpt))
        {
            var o = lm.Options!;
            var ids = lm.Tokenizer.Encode(File.ReadAllText(text));
            var data = new StreamDataset(ids, Math.Max(1, Math.Min(o.Batch, (ids.Length - 1) / (o.Ctx + 1))), o.Ctx);
            var (loss, tokens) = Evaluator.Evaluate(lm.Model, data);
            Assert.Equal(124, tokens);
            Assert.Equal("3.4109", loss.ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
        }
        // Today's eval scores every character but the first.
        var eval = CliRunner.Run("eval", "--model", ckpt, "--data", text);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Contains($"tokens={File.ReadAllText(text).Length - 1} ", eval.Out);
        var gen = CliRunner.Run("generate", "--model", ckpt, "--prompt", "to be", "--max-tokens", "20", "--seed", "1");
        Assert.True(gen.ExitCode == 0 && gen.Out.StartsWith("to be", StringComparison.Ordinal), gen.ToString());
    }
}
