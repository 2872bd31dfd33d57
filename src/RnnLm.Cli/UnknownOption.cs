using System.CommandLine;
using RnnLm.Data;

namespace RnnLm.Cli;

/// <summary>`--unknown skip|replace|error` of eval and generate, and the note that says what was skipped or replaced.</summary>
public static class UnknownOption
{
    public static Option<string> Create() => new("--unknown")
    {
        Description = "Characters the model's vocabulary lacks: skip them (the default; how many and which are printed), " +
            "replace them with the unknown token (where the vocabulary has one), or error.",
        DefaultValueFactory = _ => "skip",
    };

    /// <summary>The option of `train --from`, where new text is refused by default: dropping training text should be asked for.</summary>
    public static Option<string> CreateForFineTuning() => new("--unknown")
    {
        Description = "With --from: characters of the new text that the model's vocabulary lacks: error (the default, naming them), " +
            "skip them, or replace them with the unknown token (where the vocabulary has one). Unknown words map to <unk> by themselves.",
        DefaultValueFactory = _ => "error",
    };

    public static UnknownHandling Parse(string value) => value switch
    {
        "skip" => UnknownHandling.Skip,
        "replace" => UnknownHandling.Replace,
        "error" => UnknownHandling.Error,
        _ => throw new UsageException($"--unknown must be skip, replace or error, got '{value}'."),
    };

    /// <summary>Prints to stderr how many characters were skipped or replaced, and which.</summary>
    public static void Report(UnknownCharacters found, UnknownHandling handling)
    {
        if (found.Count == 0) return;
        string verb = handling == UnknownHandling.Replace ? "replaced with the unknown token" : "skipped";
        Console.Error.WriteLine($"note: {verb} {found.Count} character(s) the model's vocabulary lacks: {found.Describe()}");
    }
}
