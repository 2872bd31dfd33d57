using System.Text;

namespace RnnLm.Data;

/// <summary>What to do with characters a model's vocabulary lacks, when scoring or prompting it.</summary>
public enum UnknownHandling
{
    /// <summary>Refuse the text, naming the characters.</summary>
    Error,
    /// <summary>Leave them out (the default of eval and generate, which say how many and which).</summary>
    Skip,
    /// <summary>Map them to the vocabulary's unknown token; refused when it has none.</summary>
    Replace,
}

/// <summary>The characters a vocabulary lacked in the texts seen so far: how many, and which (by code point).</summary>
public sealed class UnknownCharacters
{
    private readonly SortedDictionary<int, long> _counts = new();

    /// <summary>Unknown characters seen (a character outside the BMP counts once).</summary>
    public long Count { get; private set; }

    /// <summary>Counts a character by its code point (a lone surrogate by its UTF-16 value).</summary>
    public void Add(int codePoint)
    {
        Count++;
        _counts[codePoint] = _counts.GetValueOrDefault(codePoint) + 1;
    }

    /// <summary>The characters, each printed with its code point ("'€' (U+20AC) ×2"), at most 20 of them.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        foreach (var (value, n) in _counts.Take(20))
        {
            if (sb.Length > 0) sb.Append(", ");
            sb.Append(Name(value));
            if (n > 1) sb.Append(" ×").Append(n);
        }
        if (_counts.Count > 20) sb.Append(", ...");
        return sb.ToString();
    }

    /// <summary>A character as a person reads it: printed where it is visible, always with its code point.</summary>
    public static string Name(int codePoint)
    {
        string code = $"U+{codePoint:X4}";
        if (!Rune.IsValid(codePoint)) return code + " (a lone surrogate)";
        var r = new Rune(codePoint);
        return Rune.IsControl(r) || Rune.IsWhiteSpace(r) ? code : $"'{r}' ({code})";
    }
}
