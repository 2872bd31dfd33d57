using System.Globalization;
using System.Text.Json;
using RnnLm.Training;

namespace RnnLm.Tests.Cli;

/// <summary>The CLI end to end on Tiny Shakespeare: train, eval, generate, stop and resume.</summary>
public class EndToEndTests
{
    private static readonly string Shakespeare = SharedFolder.Combine("data", "tinyshakespeare", "input.txt");

    private static string[] SmallCharRun(string outDir, params string[] extra) =>
    [
        "train", "--data", Shakespeare, "--tokenizer", "char", "--mode", "stream", "--emb", "32", "--hidden", "64",
        "--layers", "1", "--ctx", "32", "--batch", "32", "--lr", "0.003", "--init", "uniform", "--seed", "7",
        "--valid-every", "40", "--sample", "0", "--out", outDir, .. extra,
    ];

    private static List<JsonElement> ValidLines(string outDir) =>
        File.ReadLines(Path.Combine(outDir, ModelDirectory.MetricsFile))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "valid").ToList();

    [Fact]
    public void ACharacterModelTrainsEvaluatesAndGenerates()
    {
        using var tmp = new CliRunner.TempDir();
        string run = tmp.File("run");
        var train = CliRunner.Run(SmallCharRun(run, "--steps", "120"));
        Assert.True(train.ExitCode == 0, train.ToString());
        var valid = ValidLines(run);
        Assert.Equal(3, valid.Count);
        double first = valid[0].GetProperty("valid_loss").GetDouble(), last = valid[^1].GetProperty("valid_loss").GetDouble();
        Assert.True(last < first - 0.1, $"validation loss should fall: {first} -> {last}");
        Assert.True(last < Math.Log(65), $"validation loss {last} should be below ln(65)");
        Assert.True(new FileInfo(Path.Combine(run, ModelDirectory.PlotFile)).Length > 1000, "loss.png missing or empty");

        string held = tmp.File("held.txt");
        File.WriteAllText(held, string.Join('\n', File.ReadLines(Shakespeare).Skip(39000).Take(400)));
        var eval = CliRunner.Run("eval", "--model", run, "--data", held);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        double ppl = double.Parse(eval.Out.Split("perplexity=")[1].Split(Environment.NewLine)[0], CultureInfo.InvariantCulture);
        Assert.InRange(ppl, 1.5, 30);
        Assert.Contains("bits_per_char=", eval.Out);

        var gen = CliRunner.Run("generate", "--model", run, "--prompt", "ROMEO:", "--max-tokens", "80", "--temperature", "0.8", "--seed", "3");
        Assert.True(gen.ExitCode == 0, gen.ToString());
        Assert.StartsWith("ROMEO:", gen.Out);
        Assert.True(gen.Out.TrimEnd().Length >= "ROMEO:".Length + 60, gen.ToString());
        var again = CliRunner.Run("generate", "--model", run, "--prompt", "ROMEO:", "--max-tokens", "80", "--temperature", "0.8", "--seed", "3");
        Assert.Equal(gen.Out, again.Out);
        var greedy = CliRunner.Run("generate", "--model", run, "--prompt", "KING", "--max-tokens", "30", "--greedy");
        Assert.True(greedy.ExitCode == 0, greedy.ToString());

        var plot = CliRunner.Run("plot", run, "--out", tmp.File("ppl.png"));
        Assert.True(plot.ExitCode == 0, plot.ToString());
        Assert.True(new FileInfo(tmp.File("ppl.png")).Length > 1000, "the perplexity plot is missing or empty");
        var noMetrics = CliRunner.Run("plot", tmp.Path, "--out", tmp.File("x.png"));
        Assert.True(noMetrics.ExitCode != 0 && noMetrics.Err.Contains("metrics.jsonl"), noMetrics.ToString());
    }

    [Fact]
    public void ARunStoppedAndResumedEndsWithTheSameWeights()
    {
        using var tmp = new CliRunner.TempDir();
        string straight = tmp.File("straight"), resumed = tmp.File("resumed");
        // Dropout is on, so the resumed run must also restore the dropout RNG and the carried hidden state.
        var a = CliRunner.Run(SmallCharRun(straight, "--steps", "60", "--dropout", "0.1"));
        Assert.True(a.ExitCode == 0, a.ToString());
        var b1 = CliRunner.Run(SmallCharRun(resumed, "--steps", "25", "--dropout", "0.1"));
        Assert.True(b1.ExitCode == 0, b1.ToString());
        var b2 = CliRunner.Run("train", "--resume", "--out", resumed, "--steps", "60", "--sample", "0");
        Assert.True(b2.ExitCode == 0, b2.ToString());

        var ca = Checkpoint.Load(Path.Combine(straight, ModelDirectory.LastFile));
        var cb = Checkpoint.Load(Path.Combine(resumed, ModelDirectory.LastFile));
        Assert.Equal(60, ca.Header.OptimizerSteps);
        Assert.Equal(60, cb.Header.OptimizerSteps);
        foreach (var (name, values) in ca.Parameters)
            Assert.True(values.AsSpan().SequenceEqual(cb.Parameters[name]), $"{name} differs after stop and resume");
        for (int i = 0; i < ca.OptimizerState.Count; i++)
            Assert.True(ca.OptimizerState[i].AsSpan().SequenceEqual(cb.OptimizerState[i]), $"optimiser buffer {i} differs");
    }
}
