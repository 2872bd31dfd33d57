using System.Text;

namespace RnnLm.Data;

/// <summary>
/// Maps text to token ids and back. Every tokenizer reserves id 0 for padding
/// (<see cref="PadId"/>); padded positions carry no text and decode to nothing.
/// A tokenizer can be written into a checkpoint with <see cref="Save"/> and read
/// back with <see cref="Load"/>.
/// </summary>
public abstract class Tokenizer
{
    /// <summary>Magic number at the start of a serialised tokenizer ("RNTK").</summary>
    internal const int Magic = 0x4B544E52;

    /// <summary>Serialisation format version.</summary>
    internal const int FormatVersion = 1;

    /// <summary>Largest vocabulary accepted when loading (a guard against corrupt lengths).</summary>
    internal const int MaxSerializedVocab = 16_000_000;

    /// <summary>Number of ids, including padding and any special tokens.</summary>
    public abstract int VocabSize { get; }

    /// <summary>The padding id; always 0.</summary>
    public int PadId => 0;

    /// <summary>The id used for text outside the vocabulary, or null when there is none.</summary>
    public abstract int? UnknownId { get; }

    /// <summary>The tokenizer kind: "char", "word" or "gpt2".</summary>
    public abstract string Kind { get; }

    /// <summary>Tokenises <paramref name="text"/> and appends the ids to <paramref name="output"/>.</summary>
    public abstract void Encode(string text, List<int> output);

    /// <summary>Tokenises <paramref name="text"/>.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<int>(text.Length / 2 + 4);
        Encode(text, list);
        return list.ToArray();
    }

    /// <summary>
    /// Tokenises a text that comes in pieces (such as <see cref="CorpusReader.ReadChunks"/>) and hands the ids to
    /// <paramref name="sink"/> a piece at a time. The ids are exactly those of <see cref="Encode(string)"/> on the
    /// pieces joined, wherever the pieces are cut. The span passed to the sink is only valid during the call.
    /// This default joins the pieces first; the built-in tokenizers override it so that about one piece is held at a time.
    /// </summary>
    public virtual void EncodeChunks(IEnumerable<string> chunks, Action<ReadOnlySpan<int>> sink)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(sink);
        sink(Encode(string.Concat(chunks)));
    }

    /// <summary>Tokenises a text that comes in pieces into one array (see <see cref="EncodeChunks(IEnumerable{string}, Action{ReadOnlySpan{int}})"/>).</summary>
    public int[] EncodeChunks(IEnumerable<string> chunks)
    {
        var ids = new List<int>();
        EncodeChunks(chunks, span => ids.AddRange(span));
        return ids.ToArray();
    }

    /// <summary>Turns ids back into text. Padding ids are skipped.</summary>
    public abstract string Decode(ReadOnlySpan<int> ids);

    /// <summary>
    /// The text to encode under a policy for characters this vocabulary cannot encode, which are counted into found.
    /// Tokenizers that map every text to ids (words to &lt;unk&gt;, GPT-2's bytes) return it unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">Error and the text has such characters, or Replace and there is no unknown token.</exception>
    public virtual string Prepare(string text, UnknownHandling handling, UnknownCharacters found)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text;
    }

    /// <summary>A readable form of a single id (for diagnostics and sampling output).</summary>
    public abstract string TokenText(int id);

    /// <summary>
    /// The token that marks a line end in place of the '\n' character (the word tokenizer's &lt;eos&gt;, which Encode
    /// puts after every line), or null when line ends are text like any other.
    /// </summary>
    public virtual int? LineEndTokenId => null;

    /// <summary>Whether a '\n' is text this tokenizer encodes, so that line-by-line data keeps it: no when a line-end token marks lines.</summary>
    public virtual bool EncodesNewline => LineEndTokenId == null;

    /// <summary>What a generation with an empty prompt starts from: the line-end token where there is one, else padding.</summary>
    public virtual int StartId => LineEndTokenId ?? PadId;

    /// <summary>
    /// The text generated token id adds to the output so far, or null while it is an incomplete part of a
    /// character. atLineStart says whether the output is at the start of a line (and is updated); pending holds the
    /// ids held back so far. This default decodes byte-level pieces, holding them back (up to 8) until they decode
    /// to whole characters.
    /// </summary>
    public virtual string? DecodePiece(int id, ref bool atLineStart, List<int> pending)
    {
        ArgumentNullException.ThrowIfNull(pending);
        pending.Add(id);
        string text = Decode(pending.ToArray());
        if (text.EndsWith('\uFFFD') && pending.Count < 8) return null;
        pending.Clear();
        return text;
    }

    /// <summary>Writes the kind tag and the vocabulary.</summary>
    public void Save(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(Kind);
        WriteBody(writer);
    }

    /// <summary>Writes the kind-specific part (vocabulary and options).</summary>
    protected abstract void WriteBody(BinaryWriter writer);

    /// <summary>
    /// Reads a tokenizer written by <see cref="Save"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is truncated, corrupt or of an unknown kind.</exception>
    public static Tokenizer Load(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        try
        {
            int magic = reader.ReadInt32();
            if (magic != Magic)
                throw new InvalidDataException($"Not a serialised tokenizer: bad magic number 0x{magic:X8} (expected 0x{Magic:X8}).");
            int version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Unsupported tokenizer format version {version} (this build reads version {FormatVersion}).");
            string kind = reader.ReadString();
            return kind switch
            {
                CharTokenizer.KindName => CharTokenizer.ReadBody(reader),
                WordTokenizer.KindName => WordTokenizer.ReadBody(reader),
                Gpt2Tokenizer.KindName => Gpt2Tokenizer.ReadBody(reader),
                _ => throw new InvalidDataException($"Unknown tokenizer kind '{Truncate(kind)}' in serialised data."),
            };
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Serialised tokenizer is truncated.", e);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException("Serialised tokenizer is corrupt: " + e.Message, e);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException("Serialised tokenizer is corrupt: a string is not valid UTF-8.", e);
        }
    }

    /// <summary>Serialises to a byte array (convenience for tests and checkpoints).</summary>
    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, new UTF8Encoding(false, true), leaveOpen: true))
            Save(w);
        return ms.ToArray();
    }

    /// <summary>Reads a tokenizer from bytes produced by <see cref="ToBytes"/>.</summary>
    public static Tokenizer FromBytes(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var ms = new MemoryStream(data, writable: false);
        using var r = new BinaryReader(ms, new UTF8Encoding(false, true));
        return Load(r);
    }

    /// <summary>Reads a vocabulary count and checks it is plausible.</summary>
    internal static int ReadCount(BinaryReader reader, string what, int min = 0)
    {
        int n = reader.ReadInt32();
        if (n < min || n > MaxSerializedVocab)
            throw new InvalidDataException($"Serialised tokenizer is corrupt: {what} count {n} is out of range.");
        return n;
    }

    /// <summary>Throws when an id is outside the vocabulary.</summary>
    protected void CheckId(int id)
    {
        if ((uint)id >= (uint)VocabSize)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is outside the vocabulary (size {VocabSize}).");
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
