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
}
