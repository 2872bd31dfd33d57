namespace RnnLm.Cli;

/// <summary>
/// The command-line flag of each library argument that generate and score pass on, so a library error that names
/// an API argument (GenerationOptions.MaxTokens, ...) reaches the user naming the flag they typed (--max-tokens).
/// </summary>
public static class GenerationFlags
{
    /// <summary>generate's table (GenerationOptions properties), and the arguments of the library's methods that generate and score call.</summary>
    private static readonly Dictionary<string, string> Flags = new(GenerateCommand.Flags)
    {
        ["samples"] = "--samples", ["temperatures"] = "--temperature", ["prompt"] = "--prompt", ["text"] = "--data",
    };

    /// <summary>Runs body, turning an ArgumentException that names a mapped argument into a UsageException naming its flag.</summary>
    public static T Map<T>(Func<T> body) => Map(Flags, body);

    /// <summary>
    /// Runs body, turning an ArgumentException whose ParamName is a key of flags (a library argument or property, which
    /// the library's message starts with: "Dropout must be ...") into a UsageException naming its flag ("--dropout must be ...").
    /// </summary>
    public static T Map<T>(IReadOnlyDictionary<string, string> flags, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (ArgumentException e) when (e.ParamName is string name && flags.TryGetValue(name, out var flag))
        {
            string message = e.Message.Replace($" (Parameter '{name}')", "");
            if (message.StartsWith(name, StringComparison.Ordinal)) message = flag + message[name.Length..];
            throw new UsageException(message, e);
        }
    }
}
