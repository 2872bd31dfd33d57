namespace RnnLm.Data;

/// <summary>
/// Sentence-per-line batches (the book's setup). Each line is one training sequence:
/// cut to <c>ctx + 1</c> tokens, dropped when shorter than 2 tokens. A batch holds
/// <c>B</c> lines; <c>T</c> is the longest line of the batch minus one; shorter rows are
/// right-padded with the pad id in both inputs and targets. Every row starts from a zero
/// hidden state (<see cref="Batch.ResetState"/> = true). The last batch of an epoch may
/// have fewer rows.
/// </summary>
/// <remarks>
/// Shuffling: the line order of epoch <c>e</c> is a Fisher–Yates permutation drawn
/// from <c>new Random(unchecked(seed * 1000003 + e))</c>, so it is the same on every run
/// and after a resume, and differs between epochs. Without shuffling the file order is used.
/// </remarks>
public sealed class SentenceDataset : BatchDataset
{
    private readonly int[] _tokens;     // all kept lines, concatenated
    private readonly int[] _starts;     // line i is _tokens[_starts[i] .. _starts[i + 1]]
    private readonly int _batchSize;
    private readonly int _maxSeqLen;
    private readonly bool _shuffle;
    private readonly int _seed;
    private readonly long _targetTokens;
    private readonly object _orderLock = new();
    private int[]? _order;
    private int _orderEpoch = -1;

    /// <summary>Builds the dataset from tokenised lines.</summary>
    /// <param name="lines">One token sequence per line.</param>
    /// <param name="batchSize">Lines per batch.</param>
    /// <param name="contextSize">Longest input length; lines are cut to <c>contextSize + 1</c> tokens.</param>
    /// <param name="shuffle">Shuffle the lines each epoch.</param>
    /// <param name="seed">Shuffle seed.</param>
    public SentenceDataset(IEnumerable<int[]> lines, int batchSize, int contextSize, bool shuffle = true, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextSize, 1);
        _batchSize = batchSize;
        _shuffle = shuffle;
        _seed = seed;
        var tokens = new List<int>();
        var starts = new List<int> { 0 };
        int longest = 0;
        foreach (var line in lines)
        {
            int len = Math.Min(line.Length, contextSize + 1);
            if (len < 2) continue;
            tokens.AddRange(line.AsSpan(0, len));
            starts.Add(tokens.Count);
            longest = Math.Max(longest, len);
            _targetTokens += len - 1;
        }
        if (starts.Count == 1) throw new ArgumentException("No line has at least 2 tokens: nothing to train on.", nameof(lines));
        _tokens = tokens.ToArray();
        _starts = starts.ToArray();
        _maxSeqLen = longest - 1;
    }

    /// <summary>
    /// Tokenises <paramref name="text"/> line by line (empty lines skipped) and builds the dataset.
    /// A word tokenizer appends &lt;eos&gt; to each line by itself; for the other kinds the
    /// line's newline is kept as its last token when <paramref name="keepNewline"/> is set
    /// (so the model learns where lines end).
    /// </summary>
    public static SentenceDataset FromText(string text, Tokenizer tokenizer, int batchSize, int contextSize,
        bool shuffle = true, int seed = 0, bool keepNewline = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new SentenceDataset(TokenizeLines(text, tokenizer, keepNewline), batchSize, contextSize, shuffle, seed);
    }

    /// <summary>Tokenises each non-empty line of a text as <see cref="FromText"/> does.</summary>
    public static IEnumerable<int[]> TokenizeLines(string text, Tokenizer tokenizer, bool keepNewline = true)
    {
        bool addNewline = keepNewline && tokenizer.EncodesNewline;
        var buffer = new List<int>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) continue;
            buffer.Clear();
            tokenizer.Encode(addNewline ? line + "\n" : line, buffer);
            yield return buffer.ToArray();
        }
    }

    /// <summary>Number of lines kept.</summary>
    public int LineCount => _starts.Length - 1;

    /// <summary>Tokens of kept line <paramref name="i"/> (after truncation), in file order.</summary>
    public ReadOnlySpan<int> Line(int i) => _tokens.AsSpan(_starts[i], _starts[i + 1] - _starts[i]);

    /// <inheritdoc/>
    public override int BatchCount => (LineCount + _batchSize - 1) / _batchSize;

    /// <inheritdoc/>
    public override int MaxBatchSize => Math.Min(_batchSize, LineCount);

    /// <inheritdoc/>
    public override int MaxSeqLen => _maxSeqLen;

    /// <inheritdoc/>
    public override bool ResetState => true;

    /// <inheritdoc/>
    public override long TargetTokenCount => _targetTokens;

    /// <summary>The line indices of epoch <paramref name="epoch"/> in training order.</summary>
    public int[] EpochOrder(int epoch)
    {
        var order = new int[LineCount];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (_shuffle)
        {
            var rng = new Random(unchecked(_seed * 1000003 + epoch));
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
        return order;
    }

    /// <inheritdoc/>
    public override void Fill(int epoch, int index, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckIndex(index);
        int[] order;
        lock (_orderLock)
        {
            if (_order is null || _orderEpoch != epoch)
            {
                _order = EpochOrder(epoch);
                _orderEpoch = epoch;
            }
            order = _order;
        }
        int first = index * _batchSize;
        int rows = Math.Min(_batchSize, LineCount - first);
        int t = 0;
        for (int b = 0; b < rows; b++)
        {
            int line = order[first + b];
            t = Math.Max(t, _starts[line + 1] - _starts[line] - 1);
        }
        batch.Reset(rows, t);
        batch.ResetState = true;
        batch.Epoch = epoch;
        batch.Index = index;
        for (int b = 0; b < rows; b++)
        {
            var seq = Line(order[first + b]);
            int n = seq.Length - 1;
            seq[..n].CopyTo(batch.Inputs.AsSpan(b * t, n));
            seq[1..].CopyTo(batch.Targets.AsSpan(b * t, n));
            batch.Lengths[b] = n;
        }
    }
}
