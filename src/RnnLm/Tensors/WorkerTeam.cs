namespace RnnLm.Tensors;

/// <summary>
/// Runs a job in parts at once: part 0 on the calling thread, parts 1, 2, ... on the process's shared spinning
/// workers (<see cref="LaneWorker.Shared"/> 1, 2, ...). A worker another caller holds is not waited for: its part
/// runs here after part 0. The parts must not depend on which thread runs them, so the result is the same bits for
/// any thread count. Running allocates nothing (the per-part delegates are made once).
/// </summary>
public sealed class WorkerTeam
{
    private readonly Action<int> _part;
    private readonly LaneWorker[] _workers;
    private readonly Action[] _runs;
    private readonly bool[] _posted;

    /// <summary>The most parts a run may have (1 + the workers).</summary>
    public int Threads { get; }

    /// <param name="threads">1 to 256.</param>
    /// <param name="part">Runs part i of the job in progress.</param>
    /// <param name="firstWorker">The shared worker that runs part 1 (part t runs on firstWorker + t - 1).</param>
    public WorkerTeam(int threads, Action<int> part, int firstWorker = 1)
    {
        Check.Positive(firstWorker, nameof(firstWorker));
        if (threads < 1 || threads > MaxThreads)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, $"threads must be in 1..{MaxThreads}, got {threads}.");
        ArgumentNullException.ThrowIfNull(part);
        Threads = threads;
        _part = part;
        _workers = new LaneWorker[threads - 1];
        _runs = new Action[threads];
        _posted = new bool[threads];
        for (int t = 1; t < threads; t++)
        {
            int index = t;
            _workers[t - 1] = LaneWorker.Shared(firstWorker + t - 1);
            _runs[t] = () => _part(index);
        }
    }

    /// <summary>The most threads anything in the library takes.</summary>
    public const int MaxThreads = 256;

    /// <summary>Runs parts 0 .. parts-1 (parts ≤ <see cref="Threads"/>) and returns when all are done; rethrows the first failure.</summary>
    public void Run(int parts)
    {
        if (parts < 1 || parts > Threads) throw new ArgumentOutOfRangeException(nameof(parts), parts, $"parts must be in 1..{Threads}.");
        for (int t = 1; t < parts; t++) _posted[t] = _workers[t - 1].TryStart(_runs[t]);
        Exception? error = null;
        try { _part(0); }
        catch (Exception e) { error = e; }
        // Always wait for every part: callers keep operands pinned only for the duration of this call.
        for (int t = 1; t < parts; t++)
        {
            Exception? e = null;
            if (_posted[t]) e = _workers[t - 1].WaitAndTakeError();
            else
            {
                try { _part(t); }
                catch (Exception x) { e = x; }
            }
            error ??= e;
        }
        if (error is not null) throw new InvalidOperationException("A part of a parallel job failed: " + error.Message, error);
    }
}
