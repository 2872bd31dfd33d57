namespace RnnLm.Data;

/// <summary>Holds out the end of a corpus as validation data.</summary>
public static class DataSplit
{
    /// <summary>
    /// Splits a text by lines: the last <c>ceil(fraction · lines)</c> lines
    /// (at least one, and at least one left for training) become the validation text.
    /// </summary>
    public static (string Train, string Validation) SplitLines(string text, double validationFraction)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckFraction(validationFraction);
        var lines = text.Split('\n');
        int n = lines.Length;
        if (n > 0 && lines[^1].Length == 0) n--;          // text ending with a newline
        if (n < 2) throw new ArgumentException("Need at least 2 lines to split off a validation part.", nameof(text));
        int held = Math.Clamp((int)Math.Ceiling(validationFraction * n), 1, n - 1);
        string train = string.Join('\n', lines, 0, n - held) + "\n";
        string valid = string.Join('\n', lines, n - held, held) + "\n";
        return (train, valid);
    }

    /// <summary>Splits a token stream: the last <c>ceil(fraction · N)</c> tokens become validation.</summary>
    public static (TokenSource Train, TokenSource Validation) SplitTokens(TokenSource tokens, double validationFraction)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        CheckFraction(validationFraction);
        long n = tokens.Length;
        if (n < 2) throw new ArgumentException("Need at least 2 tokens to split off a validation part.", nameof(tokens));
        long held = Math.Clamp((long)Math.Ceiling(validationFraction * n), 1, n - 1);
        return (tokens.Slice(0, n - held), tokens.Slice(n - held, held));
    }

    /// <summary>Splits an in-memory token array (see <see cref="SplitTokens(TokenSource, double)"/>).</summary>
    public static (int[] Train, int[] Validation) SplitTokens(int[] tokens, double validationFraction)
    {
        var (t, v) = SplitTokens(new ArrayTokenSource(tokens), validationFraction);
        return (t.ToArray(), v.ToArray());
    }

    private static void CheckFraction(double f)
    {
        if (!(f > 0 && f < 1)) throw new ArgumentOutOfRangeException(nameof(f), f, "The validation fraction must be strictly between 0 and 1.");
    }
}
