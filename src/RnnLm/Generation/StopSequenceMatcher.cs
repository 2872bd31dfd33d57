namespace RnnLm.Generation;

/// <summary>
/// Finds stop sequences in text that arrives piece by piece (a stop may span several tokens). Text is released only
/// once no stop sequence can start in it: the longest tail that is the start of some stop sequence is held back
/// until the next piece shows whether the stop follows. Allocates only the strings it returns.
/// </summary>
public sealed class StopSequenceMatcher
{
    private readonly string[] _stops;
    private string _held = "";

    public StopSequenceMatcher(IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        for (int i = 0; i < stops.Count; i++)
            if (string.IsNullOrEmpty(stops[i])) throw new ArgumentException($"stops[{i}] is empty.", nameof(stops));
        _stops = [.. stops];
    }

    /// <summary>Whether a stop sequence has been seen (after which Push releases nothing).</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds a piece; returns the text that is now certain to come before any stop sequence (may be empty).</summary>
    public string Push(string piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        if (Stopped) return "";
        string text = _held + piece;
        int first = -1;
        foreach (var stop in _stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first >= 0)
        {
            Stopped = true;
            _held = "";
            return text[..first];
        }
        int keep = 0;
        foreach (var stop in _stops)
            for (int n = Math.Min(stop.Length - 1, text.Length); n > keep; n--)
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n))) { keep = n; break; }
        _held = text[(text.Length - keep)..];
        return keep == 0 ? text : text[..^keep];
    }

    /// <summary>The text still held back (at the end of a generation it belongs to the output).</summary>
    public string Flush()
    {
        string s = _held;
        _held = "";
        return s;
    }
}
