namespace RnnLm.Data;

/// <summary>Builds a tokenizer of a named kind (for the command line).</summary>
public static class TokenizerFactory
{
    /// <summary>The kinds <see cref="Build"/> accepts.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["char", "word", "gpt2"];

    /// <summary>Builds a tokenizer of <paramref name="kind"/> ("char", "word" or "gpt2") from a training text.</summary>
    /// <exception cref="ArgumentException">Unknown kind.</exception>
    public static Tokenizer Build(string kind, string trainingText, TokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(trainingText);
        options ??= new TokenizerOptions();
        return kind.Trim().ToLowerInvariant() switch
        {
            "char" => CharTokenizer.Build(trainingText, options.CharUnknown),
            "word" => WordTokenizer.Build(trainingText, options.MaxVocab, options.MinCount, options.AppendEos),
            "gpt2" => Gpt2Tokenizer.Build(trainingText),
            _ => throw new ArgumentException($"Unknown tokenizer kind '{kind}'; expected one of: {string.Join(", ", Kinds)}.", nameof(kind)),
        };
    }
}
