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
        ArgumentNullException.ThrowIfNull(trainingText);
        return Build(kind, [trainingText], options);
    }

    /// <summary>
    /// Builds a tokenizer of <paramref name="kind"/> from a training text that comes in pieces (see
    /// <see cref="CorpusReader.ReadChunks"/>); the result is that of the whole text.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown kind.</exception>
    public static Tokenizer Build(string kind, IEnumerable<string> chunks, TokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(chunks);
        options ??= new TokenizerOptions();
        return kind.Trim().ToLowerInvariant() switch
        {
            "char" => CharTokenizer.Build(chunks, options.CharUnknown),
            "word" => WordTokenizer.Build(chunks, options.MaxVocab, options.MinCount, options.AppendEos),
            "gpt2" => Gpt2Tokenizer.Build(chunks),
            _ => throw new ArgumentException($"Unknown tokenizer kind '{kind}'; expected one of: {string.Join(", ", Kinds)}.", nameof(kind)),
        };
    }
}
