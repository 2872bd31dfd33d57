namespace RnnLm.Data;

/// <summary>
/// Iterates over the batches of an epoch, preparing the next batch on a background
/// task while the caller trains on the current one. Two <see cref="Batch"/> buffers
/// are reused, so steady-state iteration allocates almost nothing.
/// </summary>
/// <remarks>
/// A batch returned by the enumerator is valid until the enumerator moves on (the
/// buffer is then refilled). Only one enumeration may be active at a time.
/// <see cref="Position"/> tells where to resume: after the caller has finished with the
/// batch it was handed, the position points at the following batch.
/// </remarks>
public sealed class DataLoader
{
    private readonly Batch[] _pool;
    private int _busy;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The batches.</param>
    /// <param name="prefetch">Prepare the next batch on a background task (off: everything on the caller's thread).</param>
    public DataLoader(BatchDataset dataset, bool prefetch = true)
    {
        Dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        Prefetch = prefetch;
        _pool = [dataset.CreateBatch(), dataset.CreateBatch()];
    }

    /// <summary>The dataset.</summary>
    public BatchDataset Dataset { get; }

    /// <summary>Whether batches are prepared in the background.</summary>
    public bool Prefetch { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchCount => Dataset.BatchCount;

    /// <summary>
    /// The epoch and index of the next batch not yet handed out; save it with a
    /// checkpoint. <c>BatchIndex == BatchCount</c> means the epoch is complete.
    /// </summary>
    public LoaderPosition Position { get; private set; }

    /// <summary>Batches of <paramref name="position"/>'s epoch from its batch index on (resume).</summary>
    public IEnumerable<Batch> Batches(LoaderPosition position) => Batches(position.Epoch, position.BatchIndex);

    /// <summary>Batches of epoch <paramref name="epoch"/>, starting at batch <paramref name="startBatch"/>.</summary>
    public IEnumerable<Batch> Batches(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        return Iterate(epoch, startBatch);
    }

    private IEnumerable<Batch> Iterate(int epoch, int start)
    {
        if (Interlocked.Exchange(ref _busy, 1) == 1)
            throw new InvalidOperationException("This DataLoader is already being enumerated; finish or dispose the other enumeration first.");
        Task? pending = null;
        try
        {
            int count = Dataset.BatchCount;
            Position = new LoaderPosition(epoch, Math.Min(start, count));
            if (start >= count) yield break;
            int slot = 0;
            if (Prefetch) pending = Launch(epoch, start, _pool[0]);
            else Dataset.Fill(epoch, start, _pool[0]);
            for (int k = start; k < count; k++)
            {
                var current = _pool[slot];
                if (pending is not null)
                {
                    var task = pending;
                    pending = null;
                    task.GetAwaiter().GetResult();
                }
                if (k + 1 < count)
                {
                    if (Prefetch) pending = Launch(epoch, k + 1, _pool[slot ^ 1]);
                }
                Position = new LoaderPosition(epoch, k + 1);
                yield return current;
                slot ^= 1;
                if (!Prefetch && k + 1 < count) Dataset.Fill(epoch, k + 1, _pool[slot]);
            }
        }
        finally
        {
            if (pending is not null)
            {
                try { pending.Wait(); }
                catch (AggregateException) { /* the batch was never handed out */ }
            }
            Volatile.Write(ref _busy, 0);
        }
    }

    private Task Launch(int epoch, int index, Batch target) =>
        Task.Factory.StartNew(static s =>
        {
            var (ds, e, k, b) = ((BatchDataset, int, int, Batch))s!;
            ds.Fill(e, k, b);
        }, (Dataset, epoch, index, target), CancellationToken.None, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);
}
