namespace RnnLm.Data;

/// <summary>
/// One training batch: <see cref="Inputs"/> and <see cref="Targets"/> of shape
/// [<see cref="BatchSize"/>, <see cref="SeqLen"/>], row-major. Positions past the end
/// of a row hold <see cref="Tokenizer.PadId"/> (0) in both arrays, so a loss that
/// ignores the pad id skips them.
/// </summary>
/// <remarks>
/// Batches are reused by <see cref="DataLoader"/>: the arrays are sized for the largest
/// batch of the dataset, so they can be longer than <c>BatchSize * SeqLen</c>. Use
/// <see cref="InputSpan"/> / <see cref="TargetSpan"/> (or the first
/// <see cref="Count"/> elements). A batch handed out by the loader stays valid until
/// the next one is requested.
/// </remarks>
public sealed class Batch
{
    /// <summary>Creates a batch with room for <paramref name="maxBatchSize"/> rows of <paramref name="maxSeqLen"/> steps.</summary>
    public Batch(int maxBatchSize, int maxSeqLen)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeqLen, 1);
        Inputs = new int[checked(maxBatchSize * maxSeqLen)];
        Targets = new int[Inputs.Length];
        Lengths = new int[maxBatchSize];
        MaxBatchSize = maxBatchSize;
        MaxSeqLen = maxSeqLen;
    }

    /// <summary>Input ids, row-major [BatchSize, SeqLen] in the first <see cref="Count"/> elements.</summary>
    public int[] Inputs { get; }

    /// <summary>Target ids (inputs shifted by one), same layout as <see cref="Inputs"/>.</summary>
    public int[] Targets { get; }

    /// <summary>Number of real (non-pad) steps in each row; the first <see cref="BatchSize"/> entries are used.</summary>
    public int[] Lengths { get; }

    /// <summary>Rows in this batch.</summary>
    public int BatchSize { get; private set; }

    /// <summary>Time steps in this batch.</summary>
    public int SeqLen { get; private set; }

    /// <summary>True when each row starts from a zero hidden state (sentence mode);
    /// false when the model carries its (detached) hidden state over from the previous batch (stream mode).</summary>
    public bool ResetState { get; set; }

    /// <summary>Epoch this batch belongs to.</summary>
    public int Epoch { get; set; }

    /// <summary>Index of this batch within its epoch.</summary>
    public int Index { get; set; }

    /// <summary>Capacity in rows.</summary>
    public int MaxBatchSize { get; }

    /// <summary>Capacity in time steps.</summary>
    public int MaxSeqLen { get; }

    /// <summary><c>BatchSize * SeqLen</c>.</summary>
    public int Count => BatchSize * SeqLen;

    /// <summary>Number of non-pad targets (the loss denominator).</summary>
    public int TokenCount
    {
        get
        {
            int n = 0;
            for (int b = 0; b < BatchSize; b++) n += Lengths[b];
            return n;
        }
    }

    /// <summary>The used part of <see cref="Inputs"/>.</summary>
    public Span<int> InputSpan => Inputs.AsSpan(0, Count);

    /// <summary>The used part of <see cref="Targets"/>.</summary>
    public Span<int> TargetSpan => Targets.AsSpan(0, Count);

    /// <summary>Row <paramref name="b"/> of the inputs.</summary>
    public Span<int> InputRow(int b) => Inputs.AsSpan(b * SeqLen, SeqLen);

    /// <summary>Row <paramref name="b"/> of the targets.</summary>
    public Span<int> TargetRow(int b) => Targets.AsSpan(b * SeqLen, SeqLen);

    /// <summary>Sets the shape and fills the used part with the pad id (0).</summary>
    public void Reset(int batchSize, int seqLen)
    {
        if (batchSize < 1 || batchSize > MaxBatchSize) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"Batch size must be in 1..{MaxBatchSize}.");
        if (seqLen < 1 || seqLen > MaxSeqLen) throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, $"Sequence length must be in 1..{MaxSeqLen}.");
        BatchSize = batchSize;
        SeqLen = seqLen;
        Inputs.AsSpan(0, Count).Clear();
        Targets.AsSpan(0, Count).Clear();
        Lengths.AsSpan(0, batchSize).Clear();
    }
}
