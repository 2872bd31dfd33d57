namespace RnnLm.Data;

/// <summary>
/// Contiguous-stream batches (char-rnn / PyTorch word_language_model). The token
/// stream of length N is cut into B parallel streams of <c>L = N / B</c> tokens (the
/// last <c>N mod B</c> tokens are dropped); stream b is tokens <c>[b·L, (b+1)·L)</c>.
/// Batch k covers positions <c>i = k·ctx</c>: inputs = stream[i .. i+T),
/// targets = stream[i+1 .. i+T+1) with <c>T = min(ctx, L − 1 − i)</c>, so the last batch
/// may be shorter. Rows never contain padding.
/// </summary>
/// <remarks>
/// The model carries its hidden state (detached) from batch k to k+1, so
/// <see cref="Batch.ResetState"/> is false, except for batch 0 of each epoch, which
/// starts the streams over. The window order is never shuffled, because carrying the
/// state only makes sense in stream order; every epoch is the same sequence of batches.
/// </remarks>
public sealed class StreamDataset : BatchDataset
{
    private readonly TokenSource _source;
    private readonly int _batchSize;
    private readonly int _context;
    private readonly long _streamLength;

    /// <summary>Creates the dataset.</summary>
    /// <param name="source">The token stream.</param>
    /// <param name="batchSize">Number of parallel streams (B).</param>
    /// <param name="contextSize">Window length (ctx, the BPTT length).</param>
    public StreamDataset(TokenSource source, int batchSize, int contextSize)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextSize, 1);
        _source = source;
        _batchSize = batchSize;
        _context = contextSize;
        _streamLength = source.Length / batchSize;
        if (_streamLength < 2)
            throw new ArgumentException($"{source.Length} tokens are too few for {batchSize} streams (each needs at least 2 tokens).", nameof(source));
        long count = (_streamLength - 1 + contextSize - 1) / contextSize;
        if (count > int.MaxValue) throw new ArgumentException("Too many batches; use a larger context or batch size.", nameof(source));
        BatchCount = (int)count;
    }

    /// <summary>Creates the dataset over an in-memory token array.</summary>
    public StreamDataset(int[] tokens, int batchSize, int contextSize)
        : this(new ArrayTokenSource(tokens), batchSize, contextSize) { }

    /// <summary>Tokens per stream (L).</summary>
    public long StreamLength => _streamLength;

    /// <inheritdoc/>
    public override int BatchCount { get; }

    /// <inheritdoc/>
    public override int MaxBatchSize => _batchSize;

    /// <inheritdoc/>
    public override int MaxSeqLen => (int)Math.Min(_context, _streamLength - 1);

    /// <inheritdoc/>
    public override bool ResetState => false;

    /// <inheritdoc/>
    public override long TargetTokenCount => (_streamLength - 1) * _batchSize;

    /// <inheritdoc/>
    public override void Fill(int epoch, int index, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckIndex(index);
        long i = (long)index * _context;
        int t = (int)Math.Min(_context, _streamLength - 1 - i);
        batch.Reset(_batchSize, t);
        batch.ResetState = index == 0;
        batch.Epoch = epoch;
        batch.Index = index;
        for (int b = 0; b < _batchSize; b++)
        {
            var window = _source.GetSpan(b * _streamLength + i, t + 1);
            window[..t].CopyTo(batch.Inputs.AsSpan(b * t, t));
            window[1..].CopyTo(batch.Targets.AsSpan(b * t, t));
            batch.Lengths[b] = t;
        }
    }
}
