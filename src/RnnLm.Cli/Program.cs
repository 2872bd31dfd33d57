using System.CommandLine;
using RnnLm.Data;
using RnnLm.Training;

namespace RnnLm.Cli;

/// <summary>`rnnlm`: train, eval, generate, bench. Parses, calls the library, prints.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // A command named "rnnlm" rather than a RootCommand, whose name would be the assembly's ("RnnLm.Cli") in the
        // help's usage lines; it takes RootCommand's --help and --version.
        var root = new Command("rnnlm", "rnnlm: train, evaluate and sample recurrent language models (Elman, GRU, LSTM) on any text.")
        {
            new System.CommandLine.Help.HelpOption(), new VersionOption { Action = new VersionAction() },
        };
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(ScoreCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(PlotCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(ImportCommand.Create());
        // RNNLM_KERNELS=avx512|avx2|v128|scalar forces a kernel path (for comparing paths on one machine).
        if (Environment.GetEnvironmentVariable("RNNLM_KERNELS") is { Length: > 0 } path)
        {
            try { RnnLm.Tensors.KernelPath.Force(path); }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: RNNLM_KERNELS: {e.Message.Replace(" (Parameter 'path')", "")}");
                return 2;
            }
        }
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("See 'rnnlm --help'.");
            return 2;
        }
        return parsed.Invoke();
    }

    /// <summary>Runs a command body, turning the errors a user can cause into a message and exit code 1.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ArgumentException or CorpusException or CheckpointException or TrainingDivergedException
                                      or InvalidDataException or IOException or UnauthorizedAccessException or UsageException)
        {
            string message = e.Message;
            if (e is ArgumentException { ParamName: string name }) message = message.Replace($" (Parameter '{name}')", "");
            Console.Error.WriteLine($"error: {message}");
            return 1;
        }
    }
}

/// <summary>An option combination that makes no sense.</summary>
public sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);
