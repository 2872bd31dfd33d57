using RnnLm.Data;

namespace RnnLm.Generation;

/// <summary>
/// Turns generated ids into the text each adds, as the tokenizer says (<see cref="Tokenizer.DecodePiece"/>): it
/// holds the line-start flag and the ids held back between calls.
/// </summary>
internal sealed class PieceDecoder(Tokenizer tokenizer, bool atLineStart)
{
    private readonly List<int> _pending = [];
    private bool _lineStart = atLineStart;

    /// <summary>The text token id adds, or null while a byte-level character is incomplete.</summary>
    public string? Piece(int id)
    {
        return tokenizer.DecodePiece(id, ref _lineStart, _pending);
    }

    /// <summary>What is held back (an incomplete byte sequence decodes to U+FFFD).</summary>
    public string Flush()
    {
        if (_pending.Count == 0) return "";
        string text = tokenizer.Decode(_pending.ToArray());
        _pending.Clear();
        return text;
    }

    /// <summary>The text of a whole generated sequence, as the pieces would add up.</summary>
    public static string Decode(Tokenizer tokenizer, bool atLineStart, IEnumerable<int> ids)
    {
        var d = new PieceDecoder(tokenizer, atLineStart);
        var sb = new System.Text.StringBuilder();
        foreach (int id in ids) sb.Append(d.Piece(id));
        return sb.Append(d.Flush()).ToString();
    }
}
