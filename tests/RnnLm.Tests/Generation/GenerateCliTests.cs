using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using RnnLm.Generation;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Generation;

/// <summary>`rnnlm generate` (beam, stop, temperature lists, samples, interactive over a pipe) and `rnnlm score`, as a user runs them.</summary>
public class GenerateCliTests(TrainedRun run) : IClassFixture<TrainedRun>
{
    /// <summary>Runs the CLI with the given text on its standard input.</summary>
    private static CliRunner.Result RunWithInput(string input, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RnnLm.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "rnnlm did not finish");
        return new CliRunner.Result(p.ExitCode, output, err.Result);
    }

    [Fact]
    public void ScorePrintsAJsonLinePerInputLineAndASummaryEqualToEval()
    {
        using var tmp = new CliRunner.TempDir();
        string file = tmp.File("lines.txt");
        File.WriteAllText(file, "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n");
        var r = CliRunner.Run("score", "--model", run.Run, "--data", file);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Equal("Before we proceed any further, hear me speak.", lines[1].GetProperty("text").GetString());
        Assert.Equal("Before we proceed any further, hear me speak.".Length + 1, lines[1].GetProperty("tokens").GetInt32()); // its characters and the line break, carried
        var summary = lines[^1];
        Assert.True(summary.GetProperty("summary").GetBoolean());
        Assert.Equal(lines.SkipLast(1).Sum(l => l.GetProperty("tokens").GetInt32()), summary.GetProperty("tokens").GetInt32());
        var eval = CliRunner.Run("eval", "--model", run.Run, "--data", file, "--batch", "1");
        var m = Regex.Match(eval.Out, @"tokens=(\d+) loss=([\d.]+)");
        Assert.True(m.Success, eval.ToString());
        Assert.Equal(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), summary.GetProperty("tokens").GetInt32());
        Assert.Equal(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), summary.GetProperty("loss").GetDouble(), 1e-3);
        double first = lines[0].GetProperty("logprob").GetDouble();
        Assert.Equal(Math.Exp(-first / lines[0].GetProperty("tokens").GetInt32()), lines[0].GetProperty("ppl").GetDouble(), 1e-3);
    }

    [Fact]
    public void ATemperatureListGivesOneSampleEachAndEachIsTheSingleRun()
    {
        var r = CliRunner.Run("generate", "--model", run.Run, "--prompt", "ROMEO:", "--max-tokens", "30", "--temperature", "0.2,1.0", "--samples", "2", "--seed", "3");
        Assert.True(r.ExitCode == 0, r.ToString());
        var headers = Regex.Matches(r.Out, @"^--- temperature (\S+), seed (\d+)$", RegexOptions.Multiline);
        Assert.Equal(["0.2 3", "0.2 4", "1 3", "1 4"], headers.Select(h => h.Groups[1].Value + " " + h.Groups[2].Value));
        var single = CliRunner.Run("generate", "--model", run.Run, "--prompt", "ROMEO:", "--max-tokens", "30", "--temperature", "1.0", "--seed", "4");
        Assert.Contains(single.Out.TrimEnd('\n') + "\n", r.Out);
    }

    [Fact]
    public void BeamAndStopAreTheLibrarysAndBadValuesNameTheFlag()
    {
        using var lm = run.Load();
        var expected = lm.Complete("KING", new GenerationOptions { MaxTokens = 25, Beam = 3, Stop = ["\n"] });
        var r = CliRunner.Run("generate", "--model", run.Run, "--prompt", "KING", "--max-tokens", "25", "--beam", "3", "--stop", "\n");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("KING" + expected.Text + "\n", r.Out);
        var free = lm.Complete("KING", new GenerationOptions { MaxTokens = 60, Seed = 1 });
        string stop = free.Text.Substring(20, 2);
        var stopped = CliRunner.Run("generate", "--model", run.Run, "--prompt", "KING", "--max-tokens", "60", "--stop", "zzz", "--stop", stop);
        Assert.Equal("KING" + free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)] + "\n", stopped.Out);
        foreach (var (flag, value) in new[] { ("--beam", "0"), ("--temperature", "0.5,x"), ("--top-p", "2"), ("--repetition-penalty", "-1"), ("--samples", "0") })
        {
            var bad = CliRunner.Run("generate", "--model", run.Run, flag, value);
            Assert.True(bad.ExitCode != 0, bad.ToString());
            Assert.Contains(flag, bad.Err);
            Assert.DoesNotContain("   at ", bad.Err);
        }
    }

    [Fact]
    public void InteractiveOverAPipeTakesTheChosenTokens()
    {
        using var lm = run.Load();
        var options = new GenerationOptions { MaxTokens = 10 };
        using var g = lm.Generator.Start("The", options);
        g.Choose(g.Candidates(10)[0].Id);
        g.Choose(g.Candidates(10)[2].Id);
        var c = g.Candidates(10)[1];
        g.Choose(c.Id);
        // 1st, 3rd, then the 2nd candidate typed as text, then a newline token, then the end.
        var r = RunWithInput($"1\n3\n{c.Text}\n\\n\nq\n", "generate", "--model", run.Run, "--prompt", "The", "--interactive", "--max-tokens", "10");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("  1. '", r.Out);
        Assert.EndsWith("The" + g.Text + "\n\n", r.Out);
    }

    [Fact]
    public void ServeRefusesAMissingOrCorruptModelAndABadPortWithAMessage()
    {
        using var tmp = new CliRunner.TempDir();
        File.WriteAllBytes(tmp.File("corrupt.ckpt"), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        foreach (var (args, part) in new[]
        {
            (new[] { "serve", "--model", tmp.File("missing") }, "missing"),
            (new[] { "serve", "--model", run.Run, "--model", tmp.File("corrupt.ckpt") }, "corrupt.ckpt"),
            (new[] { "serve", "--model", run.Run, "--port", "70000" }, "--port"),
        })
        {
            var r = CliRunner.Run(args);
            Assert.True(r.ExitCode != 0, r.ToString());
            Assert.Contains(part, r.Err);
            Assert.DoesNotContain("   at ", r.Err);
        }
    }

    [Theory]
    [InlineData("score")]
    [InlineData("serve")]
    public void EveryOptionOfTheNewCommandsIsInTheReadme(string command)
    {
        var help = CliRunner.Run(command, "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        var options = Regex.Matches(help.Out, @"^\s+(?:-\S+, )*(--[a-z][a-z-]*)", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).Where(o => o != "--help").Distinct().ToList();
        Assert.NotEmpty(options);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "RnnLm.slnx"))) dir = dir.Parent;
        string readme = File.ReadAllText(Path.Combine(dir!.FullName, "README.md"));
        var missing = options.Where(o => !readme.Contains("`" + o, StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"README.md does not list: {string.Join(", ", missing)}");
    }
}
