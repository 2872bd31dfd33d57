using System.Text.RegularExpressions;

namespace RnnLm.Tests.Cli;

/// <summary>The help names the tool as users call it, and the README lists every option each command's help lists.</summary>
public class HelpTests
{
    private static string Readme()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "RnnLm.slnx"))) dir = dir.Parent;
        Assert.True(dir != null, "the repository root (RnnLm.slnx) was not found above the test binaries");
        return File.ReadAllText(Path.Combine(dir!.FullName, "README.md"));
    }

    [Theory]
    [InlineData("train")]
    [InlineData("eval")]
    [InlineData("generate")]
    [InlineData("bench")]
    [InlineData("plot")]
    public void EveryOptionInTheHelpIsInTheReadmeAndTheUsageSaysRnnlm(string command)
    {
        var help = CliRunner.Run(command, "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains($"rnnlm {command}", help.Out);
        Assert.DoesNotContain("RnnLm.Cli", help.Out);
        var options = Regex.Matches(help.Out, @"^\s+(?:-\S+, )*(--[a-z][a-z-]*)", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).Where(o => o != "--help").Distinct().ToList();
        Assert.NotEmpty(options);
        string readme = Readme();
        var missing = options.Where(o => !readme.Contains("`" + o, StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"README.md does not list these options of `rnnlm {command}`: {string.Join(", ", missing)}");
    }

    [Fact]
    public void VersionNamesTheVersionAndTheKernelSetInUse()
    {
        string version = typeof(RnnLm.LanguageModel).Assembly.GetName().Version!.ToString(3);
        var r = CliRunner.Run("--version");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith($"rnnlm {version}", r.Out);
        Assert.Contains($"kernels: {RnnLm.Tensors.KernelPath.Current}", r.Out);
        var forced = CliRunner.RunWith(new Dictionary<string, string> { ["RNNLM_KERNELS"] = "avx2" }, "--version");
        Assert.Contains("kernels: avx2", forced.Out);
    }
}
