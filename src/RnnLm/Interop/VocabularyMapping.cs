using System.Text;
using RnnLm.Data;

namespace RnnLm.Interop;

/// <summary>
/// An RnnLm tokenizer for a vocabulary that another framework made (vocab.json), and where each of its ids goes.
/// RnnLm's tokenizers fix some ids: padding is 0; a character vocabulary has "&lt;unk&gt;" (if any) at 1 and the
/// characters sorted after it; a word vocabulary has "&lt;unk&gt;" at 1 and "&lt;eos&gt;" at 2, the words after them.
/// The source's padding token is the one spelt "&lt;pad&gt;", else id 0 (the book's convention). A word vocabulary
/// that lacks "&lt;unk&gt;" or "&lt;eos&gt;" gets it as a new id (<see cref="Added"/>), which the importer makes
/// never predicted; "&lt;eos&gt;" is then not appended at line ends, as the source did not.
/// </summary>
public sealed class VocabularyMapping
{
    private const string Pad = "<pad>", Unknown = "<unk>", Eos = "<eos>";

    private VocabularyMapping(Tokenizer tokenizer, int[] newId, int[] sourceOf, IReadOnlyList<string> added)
    {
        Tokenizer = tokenizer;
        NewId = newId;
        SourceOf = sourceOf;
        Added = added;
    }

    public Tokenizer Tokenizer { get; }
    /// <summary>For each source id, its RnnLm id.</summary>
    public int[] NewId { get; }
    /// <summary>For each RnnLm id, its source id, or -1 for a token the source lacks.</summary>
    public int[] SourceOf { get; }
    /// <summary>The special tokens the source lacked and RnnLm's tokenizer needs.</summary>
    public IReadOnlyList<string> Added { get; }

    /// <summary>
    /// Builds the mapping. kind: "char" (every token but &lt;pad&gt; and &lt;unk&gt; is one UTF-16 character), "word",
    /// or "auto" (char when that holds, else word). source names the vocabulary file in errors.
    /// </summary>
    /// <exception cref="InvalidDataException">A duplicate token, an empty word or one with whitespace, a multi-character token in a char vocabulary.</exception>
    public static VocabularyMapping Build(IReadOnlyList<string> tokens, string kind, string source)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(kind);
        if (tokens.Count == 0) throw new InvalidDataException($"{source}: the vocabulary is empty.");
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++)
            if (!index.TryAdd(tokens[i], i))
                throw new InvalidDataException($"{source}: token {Quote(tokens[i])} appears twice, at ids {index[tokens[i]]} and {i}.");
        int pad = index.TryGetValue(Pad, out int p) ? p : 0;
        bool IsSpecial(int i) => i == pad || tokens[i] == Unknown;
        bool charLike = Enumerable.Range(0, tokens.Count).Any(i => !IsSpecial(i))
            && Enumerable.Range(0, tokens.Count).All(i => IsSpecial(i) || tokens[i].Length == 1);
        switch (kind)
        {
            case "auto": return charLike ? Chars(tokens, index, pad, source) : Words(tokens, index, pad, source);
            case "char":
                for (int i = 0; i < tokens.Count; i++)
                    if (!IsSpecial(i) && tokens[i].Length != 1)
                        throw new InvalidDataException($"{source}: token {i} {Quote(tokens[i])} is not one character; a char vocabulary holds single characters (and <pad>, <unk>).");
                return Chars(tokens, index, pad, source);
            case "word": return Words(tokens, index, pad, source);
            default: throw new ArgumentException($"--tokenizer must be auto, char or word, got '{kind}'.", nameof(kind));
        }
    }

    private static VocabularyMapping Chars(IReadOnlyList<string> tokens, Dictionary<string, int> index, int pad, string source)
    {
        bool unknown = index.TryGetValue(Unknown, out int unk) && unk != pad;
        var chars = Enumerable.Range(0, tokens.Count).Where(i => i != pad && !(unknown && i == unk))
            .Select(i => (Char: tokens[i][0], Source: i)).OrderBy(c => c.Char).ToList();
        if (chars.Count == 0) throw new InvalidDataException($"{source}: the vocabulary has no characters.");
        var sourceOf = new List<int> { pad };
        if (unknown) sourceOf.Add(unk);
        sourceOf.AddRange(chars.Select(c => c.Source));
        // Built through the tokenizer's own serialised form: its reader checks the table (sorted, distinct).
        var bytes = Serialised(CharTokenizer.KindName, w =>
        {
            w.Write(unknown);
            w.Write(chars.Count);
            foreach (var c in chars) w.Write((ushort)c.Char);
        });
        return Finish(bytes, sourceOf.ToArray(), [], source);
    }

    private static VocabularyMapping Words(IReadOnlyList<string> tokens, Dictionary<string, int> index, int pad, string source)
    {
        for (int i = 0; i < tokens.Count; i++)
        {
            if (i == pad) continue;
            if (tokens[i].Length == 0 || tokens[i].Any(char.IsWhiteSpace))
                throw new InvalidDataException($"{source}: token {i} {Quote(tokens[i])} is empty or holds whitespace; a word vocabulary's words are split on whitespace.");
        }
        var added = new List<string>();
        int Special(string name)
        {
            if (index.TryGetValue(name, out int i) && i != pad) return i;
            added.Add(name);
            return -1;
        }
        int unk = Special(Unknown), eos = Special(Eos);
        var words = Enumerable.Range(0, tokens.Count).Where(i => i != pad && i != unk && i != eos).ToList();
        var sourceOf = new List<int> { pad, unk, eos };
        sourceOf.AddRange(words);
        var bytes = Serialised(WordTokenizer.KindName, w =>
        {
            w.Write(eos >= 0);
            w.Write(words.Count);
            foreach (int i in words) w.Write(tokens[i]);
        });
        return Finish(bytes, sourceOf.ToArray(), added, source);
    }

    private static VocabularyMapping Finish(byte[] serialised, int[] sourceOf, IReadOnlyList<string> added, string source)
    {
        Tokenizer tokenizer;
        try { tokenizer = Tokenizer.FromBytes(serialised); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
        if (tokenizer.VocabSize != sourceOf.Length)
            throw new InvalidOperationException($"the tokenizer has {tokenizer.VocabSize} ids for {sourceOf.Length} mapped tokens.");
        int sourceCount = sourceOf.Count(s => s >= 0);
        var newId = new int[sourceCount];
        for (int id = 0; id < sourceOf.Length; id++)
            if (sourceOf[id] >= 0) newId[sourceOf[id]] = id;
        return new VocabularyMapping(tokenizer, newId, sourceOf, added);
    }

    private static byte[] Serialised(string kind, Action<BinaryWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, new UTF8Encoding(false, true), leaveOpen: true))
        {
            w.Write(Tokenizer.Magic);
            w.Write(Tokenizer.FormatVersion);
            w.Write(kind);
            body(w);
        }
        return ms.ToArray();
    }

    private static string Quote(string token) =>
        System.Text.Json.JsonSerializer.Serialize(token.Length <= 40 ? token : token[..40] + "...");
}
