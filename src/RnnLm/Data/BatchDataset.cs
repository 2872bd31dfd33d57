namespace RnnLm.Data;

/// <summary>
/// A dataset that can fill batch <c>k</c> of epoch <c>e</c> on demand. The contents of
/// a batch are a pure function of (epoch, index), which is what makes resuming at a
/// saved <see cref="LoaderPosition"/> exact. <see cref="Fill"/> must be safe to call
/// from a background thread (one call at a time).
/// </summary>
public abstract class BatchDataset
{
    /// <summary>Number of batches in one epoch.</summary>
    public abstract int BatchCount { get; }

    /// <summary>Largest number of rows of any batch.</summary>
    public abstract int MaxBatchSize { get; }

    /// <summary>Largest number of time steps of any batch.</summary>
    public abstract int MaxSeqLen { get; }

    /// <summary>Whether batches ask for a zero hidden state (see <see cref="Batch.ResetState"/>).</summary>
    public abstract bool ResetState { get; }

    /// <summary>Number of target tokens (non-pad) in one epoch.</summary>
    public abstract long TargetTokenCount { get; }

    /// <summary>Writes batch <paramref name="index"/> of epoch <paramref name="epoch"/> into <paramref name="batch"/>.</summary>
    public abstract void Fill(int epoch, int index, Batch batch);

    /// <summary>Allocates a batch big enough for any batch of this dataset.</summary>
    public Batch CreateBatch() => new(MaxBatchSize, MaxSeqLen);

    /// <summary>Allocates and fills one batch (convenient for tests; the loader reuses buffers instead).</summary>
    public Batch GetBatch(int epoch, int index)
    {
        var b = CreateBatch();
        Fill(epoch, index, b);
        return b;
    }

    /// <summary>Checks the batch index.</summary>
    protected void CheckIndex(int index)
    {
        if ((uint)index >= (uint)BatchCount)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Batch index must be in 0..{BatchCount - 1}.");
    }
}
