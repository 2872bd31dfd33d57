using RnnLm.Tests.Cli;
using RnnLm.Training;

namespace RnnLm.Tests.Training;

/// <summary>metrics.jsonl read back (JsonlMetricsSink.Read), and what `rnnlm plot` says of a file that is not one.</summary>
public class MetricsFileTests
{
    [Fact]
    public void ReadGivesBackWhatTheSinkWrote()
    {
        using var tmp = new CliRunner.TempDir();
        var sink = new JsonlMetricsSink(tmp.Path);
        sink.Write(new TrainMetrics(10, 0, 1.234, 640, 1e-3, 2.345678));
        sink.Write(new ValidationMetrics(10, 0, 2.5, 640, 1e-3, 2.1, IsBest: true));
        sink.Write(new ValidationMetrics(20, 1, 4.75, 1280, 1e-3, null, IsBest: false));
        var records = JsonlMetricsSink.Read(sink.FilePath);
        Assert.Equal(3, records.Count);
        Assert.Equal(new MetricsRecord(10, 1.23, 2.34568, null), records[0]);
        Assert.Equal(new MetricsRecord(10, 2.5, null, 2.1), records[1]);
        Assert.Equal(new MetricsRecord(20, 4.75, null, null), records[2]);
    }

    [Theory]
    [InlineData("not json", "line 2: not JSON")]
    [InlineData("\u0001\u0002binary", "line 2: not JSON")]
    [InlineData("{\"kind\":\"valid\",\"valid_loss\":2}", "line 2: not a metrics record")]
    [InlineData("[1, 2]", "line 2: not a metrics record")]
    public void ALineThatIsNotARecordIsNamedAndPlotFailsWithAMessage(string bad, string expected)
    {
        using var tmp = new CliRunner.TempDir();
        string run = tmp.File("run");
        Directory.CreateDirectory(run);
        string metrics = Path.Combine(run, ModelDirectory.MetricsFile);
        File.WriteAllText(metrics, "{\"kind\":\"valid\",\"step\":1,\"elapsed_s\":1,\"valid_loss\":2}\n" + bad + "\n");
        var e = Assert.Throws<InvalidDataException>(() => JsonlMetricsSink.Read(metrics));
        Assert.Contains(expected, e.Message);

        var plot = CliRunner.Run("plot", run, "--out", tmp.File("p.png"));
        Assert.Equal(1, plot.ExitCode);
        Assert.Contains(expected, plot.Err);
        Assert.False(File.Exists(tmp.File("p.png")));
    }
}
