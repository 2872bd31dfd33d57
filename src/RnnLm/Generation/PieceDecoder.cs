using RnnLm.Data;

namespace RnnLm.Generation;

/// <summary>
/// Turns generated ids into the text each adds: words with a space between them and a line break for &lt;eos&gt;,
/// characters as they are, and byte-level pieces held back until they decode to whole characters.
/// </summary>
internal sealed class PieceDecoder(Tokenizer tokenizer, bool atLineStart)
{
    private readonly List<int> _pending = [];
    private bool _lineStart = atLineStart;

    /// <summary>The text token id adds, or null while a byte-level character is incomplete.</summary>
    public string? Piece(int id)
    {
        if (tokenizer is WordTokenizer)
        {
            if (id == WordTokenizer.EosId) { _lineStart = true; return "\n"; }
            string word = tokenizer.TokenText(id);
            string s = _lineStart ? word : " " + word;
            _lineStart = false;
            return s;
        }
        if (tokenizer is CharTokenizer) return tokenizer.TokenText(id);
        _pending.Add(id);
        string text = tokenizer.Decode(_pending.ToArray());
        if (text.EndsWith('\uFFFD') && _pending.Count < 8) return null;
        _pending.Clear();
        return text;
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
