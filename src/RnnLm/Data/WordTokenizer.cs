using System.Runtime.InteropServices;
using System.Text;

namespace RnnLm.Data;

/// <summary>
/// Word-level tokenizer (PTB / word_language_model style). Words are separated by
/// whitespace. Ids: 0 = <c>&lt;pad&gt;</c>, 1 = <c>&lt;unk&gt;</c>, 2 = <c>&lt;eos&gt;</c>, then the
/// words, most frequent first (ties in ordinal string order). A <c>&lt;unk&gt;</c> or
/// <c>&lt;eos&gt;</c> already present in the corpus (PTB has <c>&lt;unk&gt;</c>) maps to the
/// reserved id. When <see cref="AppendEos"/> is on, <c>&lt;eos&gt;</c> is appended after every
/// line (a final newline does not start an extra empty line); <see cref="Decode"/>
/// joins words with single spaces and turns <c>&lt;eos&gt;</c> into a newline.
/// </summary>
public sealed class WordTokenizer : Tokenizer
{
    internal const string KindName = "word";

    /// <summary>Padding token text.</summary>
    public const string PadToken = "<pad>";
    /// <summary>Unknown-word token text.</summary>
    public const string UnknownToken = "<unk>";
    /// <summary>End-of-line token text.</summary>
    public const string EosToken = "<eos>";

    /// <summary>Id of <c>&lt;eos&gt;</c>.</summary>
    public const int EosId = 2;

    private const int FirstWordId = 3;

    private readonly string[] _words;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private WordTokenizer(string[] words, bool appendEos)
    {
        _words = words;
        AppendEos = appendEos;
        _ids = new Dictionary<string, int>(words.Length, StringComparer.Ordinal);
        for (int i = 0; i < words.Length; i++)
            if (!_ids.TryAdd(words[i], i))
                throw new InvalidDataException($"Word vocabulary is corrupt: '{words[i]}' appears twice.");
        _ids[PadToken] = 1; // a literal "<pad>" in text is not padding: treat it as unknown
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// Builds the vocabulary from <paramref name="trainingText"/>.
    /// </summary>
    /// <param name="trainingText">Training text, one sentence (or paragraph) per line.</param>
    /// <param name="maxVocab">Cap on <see cref="VocabSize"/> including the three special tokens; null for no cap.</param>
    /// <param name="minCount">Words seen fewer times than this become <c>&lt;unk&gt;</c>.</param>
    /// <param name="appendEos">Append <c>&lt;eos&gt;</c> after each line when encoding.</param>
    public static WordTokenizer Build(string trainingText, int? maxVocab = null, int minCount = 1, bool appendEos = true)
    {
        ArgumentNullException.ThrowIfNull(trainingText);
        return Build([trainingText], maxVocab, minCount, appendEos);
    }

    /// <summary>
    /// Builds the vocabulary from a training text that comes in pieces (see <see cref="CorpusReader.ReadChunks"/>);
    /// a word cut by the end of a piece is joined with its rest, so the result is that of the whole text.
    /// </summary>
    /// <param name="chunks">The pieces of the training text, cut anywhere.</param>
    /// <param name="maxVocab">Cap on <see cref="VocabSize"/> including the three special tokens; null for no cap.</param>
    /// <param name="minCount">Words seen fewer times than this become <c>&lt;unk&gt;</c>.</param>
    /// <param name="appendEos">Append <c>&lt;eos&gt;</c> after each line when encoding.</param>
    public static WordTokenizer Build(IEnumerable<string> chunks, int? maxVocab = null, int minCount = 1, bool appendEos = true)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        if (maxVocab is < FirstWordId) throw new ArgumentOutOfRangeException(nameof(maxVocab), maxVocab, $"maxVocab must be at least {FirstWordId} (the special tokens).");
        if (minCount < 1) throw new ArgumentOutOfRangeException(nameof(minCount), minCount, "minCount must be at least 1.");

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        var partial = new StringBuilder(); // a word that reached the end of the last piece
        foreach (string chunk in chunks)
        {
            var span = chunk.AsSpan();
            int i = 0;
            if (partial.Length > 0)
            {
                while (i < span.Length && !char.IsWhiteSpace(span[i])) i++;
                partial.Append(span[..i]);
                if (i == span.Length) continue;
                Count(partial.ToString());
                partial.Clear();
            }
            while (i < span.Length)
            {
                while (i < span.Length && char.IsWhiteSpace(span[i])) i++;
                int start = i;
                while (i < span.Length && !char.IsWhiteSpace(span[i])) i++;
                if (i == span.Length) partial.Append(span[start..i]);
                else Count(span[start..i]);
            }
        }
        if (partial.Length > 0) Count(partial.ToString());
        counts.Remove(UnknownToken);
        counts.Remove(EosToken);
        counts.Remove(PadToken);

        var ranked = counts.Where(kv => kv.Value >= minCount).ToList();
        ranked.Sort((a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
        int keep = maxVocab is int m ? Math.Min(ranked.Count, m - FirstWordId) : ranked.Count;
        var words = new string[FirstWordId + keep];
        words[0] = PadToken; words[1] = UnknownToken; words[2] = EosToken;
        for (int k = 0; k < keep; k++) words[FirstWordId + k] = ranked[k].Key;
        return new WordTokenizer(words, appendEos);

        void Count(ReadOnlySpan<char> w)
        {
            if (lookup.TryGetValue(w, out int c)) lookup[w] = c + 1;
            else lookup[w] = 1;
        }
    }

    /// <summary>Whether <c>&lt;eos&gt;</c> is appended at each line end.</summary>
    public bool AppendEos { get; }

    /// <inheritdoc/>
    public override int VocabSize => _words.Length;

    /// <inheritdoc/>
    public override int? UnknownId => 1;

    /// <inheritdoc/>
    public override string Kind => KindName;

    /// <summary>The id of a word, or <see cref="UnknownId"/> when it is not in the vocabulary.</summary>
    public int IdOf(string word) => _ids.TryGetValue(word, out int id) ? id : 1;

    /// <summary>Whether the word has its own id.</summary>
    public bool Contains(string word) => _ids.TryGetValue(word, out int id) && id >= FirstWordId;

    /// <inheritdoc/>
    public override void Encode(string text, List<int> output)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        Encode(text.AsSpan(), output);
    }

    /// <inheritdoc/>
    /// <remarks>Pieces are encoded up to their last line feed; the rest is joined to the next piece.</remarks>
    public override void EncodeChunks(IEnumerable<string> chunks, Action<ReadOnlySpan<int>> sink)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(sink);
        var ids = new List<int>();
        var rest = new StringBuilder(); // the text after the last line feed so far
        foreach (string chunk in chunks)
        {
            int lines = chunk.LastIndexOf('\n') + 1;
            if (lines == 0)
            {
                rest.Append(chunk);
                continue;
            }
            ids.Clear();
            if (rest.Length == 0) Encode(chunk.AsSpan(0, lines), ids);
            else
            {
                rest.Append(chunk, 0, lines);
                Encode(rest.ToString(), ids);
                rest.Clear();
            }
            rest.Append(chunk, lines, chunk.Length - lines);
            sink(CollectionsMarshal.AsSpan(ids));
        }
        if (rest.Length > 0)
        {
            ids.Clear();
            Encode(rest.ToString(), ids);
            sink(CollectionsMarshal.AsSpan(ids));
        }
    }

    private void Encode(ReadOnlySpan<char> span, List<int> output)
    {
        int i = 0;
        while (i < span.Length)
        {
            char ch = span[i];
            if (ch == '\n')
            {
                if (AppendEos) output.Add(EosId);
                i++;
                continue;
            }
            if (char.IsWhiteSpace(ch)) { i++; continue; }
            int start = i;
            while (i < span.Length && !char.IsWhiteSpace(span[i])) i++;
            output.Add(_lookup.TryGetValue(span[start..i], out int id) ? id : 1);
        }
        // The last line has no newline: it still ends there.
        if (AppendEos && span.Length > 0 && span[^1] != '\n') output.Add(EosId);
    }

    /// <inheritdoc/>
    public override string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length * 6);
        bool lineStart = true;
        foreach (int id in ids)
        {
            CheckId(id);
            if (id == PadId) continue;
            if (id == EosId)
            {
                sb.Append('\n');
                lineStart = true;
                continue;
            }
            if (!lineStart) sb.Append(' ');
            sb.Append(_words[id]);
            lineStart = false;
        }
        return sb.ToString();
    }

    /// <summary>&lt;eos&gt;, which ends every line.</summary>
    public override int? LineEndTokenId => EosId;

    /// <summary>Words with a space between them (none at a line start), and a line break for &lt;eos&gt;.</summary>
    public override string? DecodePiece(int id, ref bool atLineStart, List<int> pending)
    {
        if (id == EosId) { atLineStart = true; return "\n"; }
        string word = TokenText(id);
        string s = atLineStart ? word : " " + word;
        atLineStart = false;
        return s;
    }

    /// <inheritdoc/>
    public override string TokenText(int id)
    {
        CheckId(id);
        return _words[id];
    }

    /// <inheritdoc/>
    protected override void WriteBody(BinaryWriter writer)
    {
        writer.Write(AppendEos);
        writer.Write(_words.Length - FirstWordId);
        for (int i = FirstWordId; i < _words.Length; i++) writer.Write(_words[i]);
    }

    internal static WordTokenizer ReadBody(BinaryReader reader)
    {
        bool appendEos = reader.ReadBoolean();
        int n = ReadCount(reader, "word");
        var words = new string[FirstWordId + n];
        words[0] = PadToken; words[1] = UnknownToken; words[2] = EosToken;
        for (int i = 0; i < n; i++)
        {
            string w = reader.ReadString();
            if (w.Length == 0 || w.AsSpan().ContainsAny(" \t\r\n"))
                throw new InvalidDataException($"Serialised word vocabulary is corrupt: entry {i} is empty or contains whitespace.");
            words[FirstWordId + i] = w;
        }
        return new WordTokenizer(words, appendEos);
    }
}
