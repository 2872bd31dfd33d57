using System.Diagnostics;
using System.Text.Json;
using RnnLm.Training;

namespace RnnLm.Tests.Cli;

/// <summary>
/// A run killed with SIGKILL at seeded random moments, several of them inside a checkpoint write, and resumed each
/// time, ends with the bits of a run that never stopped: every parameter and optimiser buffer.
/// </summary>
[Collection(SerialCollection.Name)]
public class CrashSafetyTests
{
    private const int Steps = 90;
    private static string[] Fresh(string data, string valid, string outDir) =>
    [
        "train", "--data", data, "--valid", valid, "--tokenizer", "char", "--mode", "stream", "--cell", "lstm", "--emb", "32", "--hidden", "96",
        "--layers", "2", "--ctx", "32", "--batch", "16", "--lr", "0.003", "--dropout", "0.1", "--seed", "3", "--valid-every", "6",
        "--steps", Steps.ToString(), "--sample", "0", "--threads", "2", "--out", outDir, "--force",
    ];

    private static string[] Resume(string outDir) => ["train", "--resume", "--out", outDir, "--steps", Steps.ToString(), "--sample", "0"];

    private static bool Writing(string dir) =>
        Directory.Exists(dir) && Directory.EnumerateFiles(dir, ".last.ckpt.*.tmp").Any();

    [Fact]
    public void KilledAtRandomMomentsAndResumedEndsWithTheSameBits()
    {
        using var tmp = new CliRunner.TempDir();
        string text = File.ReadAllText(SharedFolder.Combine("data", "tinyshakespeare", "input.txt"));
        string data = tmp.File("train.txt"), valid = tmp.File("valid.txt");
        File.WriteAllText(data, text[..200_000]);
        File.WriteAllText(valid, text[^4_000..]);
        string[] Fresh(string outDir) => CrashSafetyTests.Fresh(data, valid, outDir);
        string straight = tmp.File("straight"), killed = tmp.File("killed");
        var reference = CliRunner.Run(Fresh(straight));
        Assert.True(reference.ExitCode == 0, reference.ToString());

        var rng = new Random(20261201);
        int kills = 0, inWrite = 0, attempts = 0;
        while (true)
        {
            Assert.True(++attempts < 40, $"the run did not finish after {attempts} starts");
            bool started = File.Exists(Path.Combine(killed, ModelDirectory.LastFile));
            using var p = CliRunner.Start(started ? Resume(killed) : Fresh(killed));
            bool aimAtWrite = kills < 12 && kills % 2 == 0;   // every other kill waits for a checkpoint write
            var until = Stopwatch.StartNew();
            double delay = 0.3 + rng.NextDouble() * 1.5;
            bool killedIt = false;
            while (!p.HasExited)
            {
                bool now = aimAtWrite ? Writing(killed) : until.Elapsed.TotalSeconds >= delay;
                if (now && kills < 12)
                {
                    bool duringWrite = Writing(killed);
                    try { p.Kill(); killedIt = true; } catch (InvalidOperationException) { break; }
                    p.WaitForExit();
                    kills++;
                    if (duringWrite) inWrite++;
                    break;
                }
                if (aimAtWrite && until.Elapsed.TotalSeconds > 20) aimAtWrite = false; // no write seen: kill by time
                Thread.SpinWait(200);
            }
            if (!killedIt)
            {
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, $"a run exited with {p.ExitCode}");
                if (Checkpoint.Load(Path.Combine(killed, ModelDirectory.LastFile)).Header.OptimizerSteps >= Steps) break;
            }
        }
        Assert.True(kills >= 8, $"only {kills} kills");
        Assert.True(inWrite >= 2, $"only {inWrite} of {kills} kills landed inside a checkpoint write");

        var a = Checkpoint.Load(Path.Combine(straight, ModelDirectory.LastFile));
        var b = Checkpoint.Load(Path.Combine(killed, ModelDirectory.LastFile));
        Assert.Equal(Steps, b.Header.OptimizerSteps);
        foreach (var (name, values) in a.Parameters)
            Assert.True(values.AsSpan().SequenceEqual(b.Parameters[name]), $"{name} differs after {kills} kills ({inWrite} in a write)");
        for (int i = 0; i < a.OptimizerState.Count; i++)
            Assert.True(a.OptimizerState[i].AsSpan().SequenceEqual(b.OptimizerState[i]), $"optimiser buffer {i} differs");
        Assert.Empty(Directory.EnumerateFiles(killed, "*.tmp"));
        var steps = File.ReadLines(Path.Combine(killed, ModelDirectory.MetricsFile))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (e.GetProperty("kind").GetString(), e.GetProperty("step").GetInt64())).ToList();
        Assert.Equal(steps.Count, steps.Distinct().Count());
    }
}
