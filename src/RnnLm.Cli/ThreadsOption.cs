using System.CommandLine;
using RnnLm.Tensors;

namespace RnnLm.Cli;

/// <summary>--threads for bench and eval: the number of cores by default, 1..256, anything else refused by name.</summary>
internal static class ThreadsOption
{
    /// <summary>This machine's cores, at most <see cref="WorkerTeam.MaxThreads"/>.</summary>
    public static int Default => Math.Clamp(Environment.ProcessorCount, 1, WorkerTeam.MaxThreads);

    public static Option<int> Create() => new("--threads")
    {
        Description = $"Threads, 1 to {WorkerTeam.MaxThreads} (default: the number of cores, {Default} here).",
        DefaultValueFactory = _ => Default,
    };

    /// <summary>The value, or a UsageException naming --threads.</summary>
    public static int Check(int threads) => threads is >= 1 and <= WorkerTeam.MaxThreads ? threads
        : throw new UsageException($"--threads must be in 1..{WorkerTeam.MaxThreads}, got {threads}.");
}
