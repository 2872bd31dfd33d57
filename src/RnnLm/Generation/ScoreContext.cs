namespace RnnLm.Generation;

/// <summary>How the lines of a text are scored.</summary>
public enum ScoreContext
{
    /// <summary>Each line alone from a zero state, its first token given (as eval scores a sentence-mode model).</summary>
    Zero,
    /// <summary>The text as one stream, the state carried from line to line, only the text's first token given (as eval's stream mode).</summary>
    Carried,
}
