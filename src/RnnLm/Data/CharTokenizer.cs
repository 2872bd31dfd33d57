using System.Runtime.InteropServices;
using System.Text;

namespace RnnLm.Data;

/// <summary>
/// Character-level tokenizer (char-rnn style). Tokens are UTF-16 code units: a
/// character outside the Basic Multilingual Plane (a surrogate pair) becomes two
/// tokens, one per surrogate, and decoding puts the pair back together, so
/// <c>Decode(Encode(s)) == s</c> holds for any text whose characters were all seen.
/// Id 0 is padding; when built with an unknown token it is id 1; the characters
/// follow, sorted by code unit (which is code-point order inside the BMP).
/// </summary>
public sealed class CharTokenizer : Tokenizer
{
    internal const string KindName = "char";

    /// <summary>The text an unknown id decodes to.</summary>
    public const char UnknownChar = '\uFFFD';

    private readonly char[] _chars;          // id -> char (index 0 and the unknown id unused)
    private readonly int[] _lookup;          // char -> id, 0 when absent
    private readonly int _first;             // id of the first character

    private CharTokenizer(char[] sortedDistinct, bool withUnknown)
    {
        HasUnknown = withUnknown;
        _first = withUnknown ? 2 : 1;
        _chars = new char[_first + sortedDistinct.Length];
        _lookup = new int[char.MaxValue + 1];
        for (int i = 0; i < sortedDistinct.Length; i++)
        {
            _chars[_first + i] = sortedDistinct[i];
            _lookup[sortedDistinct[i]] = _first + i;
        }
    }

    /// <summary>Builds the vocabulary from every distinct UTF-16 character of <paramref name="trainingText"/>.</summary>
    /// <param name="trainingText">The training text.</param>
    /// <param name="withUnknown">Reserve id 1 for characters never seen; otherwise <see cref="Encode(string, List{int})"/> throws on them.</param>
    public static CharTokenizer Build(string trainingText, bool withUnknown = false)
    {
        ArgumentNullException.ThrowIfNull(trainingText);
        return Build([trainingText], withUnknown);
    }

    /// <summary>Builds the vocabulary from a training text that comes in pieces (see <see cref="CorpusReader.ReadChunks"/>).</summary>
    /// <param name="chunks">The pieces of the training text, cut anywhere.</param>
    /// <param name="withUnknown">Reserve id 1 for characters never seen.</param>
    public static CharTokenizer Build(IEnumerable<string> chunks, bool withUnknown = false)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        var seen = new bool[char.MaxValue + 1];
        foreach (string chunk in chunks)
            foreach (char c in chunk) seen[c] = true;
        var chars = new List<char>();
        for (int c = 0; c <= char.MaxValue; c++)
            if (seen[c]) chars.Add((char)c);
        if (chars.Count == 0) throw new ArgumentException("Cannot build a character vocabulary from empty text.", nameof(chunks));
        return new CharTokenizer(chars.ToArray(), withUnknown);
    }

    /// <summary>Whether the vocabulary has an unknown token.</summary>
    public bool HasUnknown { get; }

    /// <inheritdoc/>
    public override int VocabSize => _chars.Length;

    /// <inheritdoc/>
    public override int? UnknownId => HasUnknown ? 1 : null;

    /// <inheritdoc/>
    public override string Kind => KindName;

    /// <summary>The characters of the vocabulary in id order (padding and unknown excluded).</summary>
    public ReadOnlySpan<char> Characters => _chars.AsSpan(_first);

    /// <summary>The id of a character, or null when it is not in the vocabulary.</summary>
    public int? IdOf(char c) => _lookup[c] == 0 ? null : _lookup[c];

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The text has characters never seen in training and there is no unknown token.</exception>
    public override void Encode(string text, List<int> output)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        int start = output.Count;
        output.EnsureCapacity(start + text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int id = _lookup[text[i]];
            if (id == 0)
            {
                if (!HasUnknown)
                {
                    output.RemoveRange(start, output.Count - start);
                    throw new ArgumentException("the text has characters the model's vocabulary lacks: " + DescribeUnseen(text) + ".");
                }
                id = 1;
            }
            output.Add(id);
        }
    }

    /// <inheritdoc/>
    public override void EncodeChunks(IEnumerable<string> chunks, Action<ReadOnlySpan<int>> sink)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(sink);
        var ids = new List<int>();
        foreach (string chunk in chunks)
        {
            ids.Clear();
            Encode(chunk, ids);
            sink(CollectionsMarshal.AsSpan(ids));
        }
    }

    /// <inheritdoc/>
    public override string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length);
        foreach (int id in ids)
        {
            CheckId(id);
            if (id == PadId) continue;
            sb.Append(id < _first ? UnknownChar : _chars[id]);
        }
        return sb.ToString();
    }

    /// <summary>Whether the vocabulary has '\n' (a text without line breaks gives one without).</summary>
    public override bool EncodesNewline => IdOf('\n') is not null;

    /// <summary>'\n' where the vocabulary has it, else padding.</summary>
    public override int StartId => IdOf('\n') ?? PadId;

    /// <summary>Each character as it is.</summary>
    public override string? DecodePiece(int id, ref bool atLineStart, List<int> pending) => TokenText(id);

    /// <inheritdoc/>
    public override string TokenText(int id)
    {
        CheckId(id);
        if (id == PadId) return "<pad>";
        if (id < _first) return "<unk>";
        return _chars[id].ToString();
    }

    /// <inheritdoc/>
    protected override void WriteBody(BinaryWriter writer)
    {
        writer.Write(HasUnknown);
        int n = _chars.Length - _first;
        writer.Write(n);
        for (int i = _first; i < _chars.Length; i++) writer.Write((ushort)_chars[i]);
    }

    internal static CharTokenizer ReadBody(BinaryReader reader)
    {
        bool withUnknown = reader.ReadBoolean();
        int n = ReadCount(reader, "character", min: 1);
        if (n > char.MaxValue + 1) throw new InvalidDataException($"Serialised tokenizer is corrupt: {n} characters is more than UTF-16 has.");
        var chars = new char[n];
        for (int i = 0; i < n; i++)
        {
            chars[i] = (char)reader.ReadUInt16();
            if (i > 0 && chars[i] <= chars[i - 1])
                throw new InvalidDataException($"Serialised tokenizer is corrupt: character table is not strictly sorted at entry {i}.");
        }
        return new CharTokenizer(chars, withUnknown);
    }

    /// <summary>
    /// The character at text[i]: a surrogate pair as one code point, anything else (a lone surrogate too) as its
    /// UTF-16 value; whether every unit of it is in the vocabulary; and how many units it takes.
    /// </summary>
    private (int CodePoint, bool Known, int Length) CharAt(string text, int i)
    {
        char c = text[i];
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            return (char.ConvertToUtf32(c, text[i + 1]), _lookup[c] != 0 && _lookup[text[i + 1]] != 0, 2);
        return (c, _lookup[c] != 0, 1);
    }

    private string DescribeUnseen(string text)
    {
        var found = new UnknownCharacters();
        for (int i = 0; i < text.Length;)
        {
            var (cp, known, len) = CharAt(text, i);
            if (!known) found.Add(cp);
            i += len;
        }
        return found.Describe();
    }

    /// <inheritdoc/>
    public override string Prepare(string text, UnknownHandling handling, UnknownCharacters found)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(found);
        StringBuilder? kept = null;
        long before = found.Count;
        int at = 0;
        for (int i = 0; i < text.Length;)
        {
            var (cp, known, len) = CharAt(text, i);
            if (!known)
            {
                found.Add(cp);
                if (handling == UnknownHandling.Skip)
                {
                    kept ??= new StringBuilder(text.Length);
                    kept.Append(text, at, i - at);
                    at = i + len;
                }
            }
            i += len;
        }
        bool any = found.Count > before;
        if (any && handling == UnknownHandling.Error)
            throw new ArgumentException("the text has characters the model's vocabulary lacks: " + found.Describe() + ".");
        if (any && handling == UnknownHandling.Replace && !HasUnknown)
            throw new ArgumentException("this model's vocabulary has no unknown token to stand for " + found.Describe() +
                "; skip them instead.");
        if (kept == null) return text;
        kept.Append(text, at, text.Length - at);
        return kept.ToString();
    }
}
