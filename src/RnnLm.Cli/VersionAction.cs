using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using RnnLm.Tensors;

namespace RnnLm.Cli;

/// <summary>`rnnlm --version`: the version, and the kernel set this CPU runs (what a bug report needs).</summary>
public sealed class VersionAction : SynchronousCommandLineAction
{
    public static string Text()
    {
        string version = typeof(LanguageModel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(LanguageModel).Assembly.GetName().Version?.ToString() ?? "unknown";
        return $"rnnlm {version} (kernels: {KernelPath.Current}; CPU: {KernelPath.CpuModel}; {Environment.ProcessorCount} cores; .NET {Environment.Version})";
    }

    public override int Invoke(ParseResult parseResult)
    {
        Console.WriteLine(Text());
        return 0;
    }
}
