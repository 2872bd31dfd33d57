namespace RnnLm.Generation;

/// <summary>
/// A scored line: its text (without the line break), the tokens scored with their log-probabilities, and their sum.
/// A line whose tokens are all context (a one-token line from a zero state, or a blank line) has no tokens scored.
/// </summary>
public sealed record LineScore(int Line, string Text, IReadOnlyList<TokenScore> Tokens, double LogProb)
{
    /// <summary>exp(−LogProb / tokens), or NaN when no token was scored.</summary>
    public double Perplexity => Tokens.Count == 0 ? double.NaN : Math.Exp(-LogProb / Tokens.Count);
}
