namespace RnnLm.Tensors;

/// <summary>
/// A long-lived background thread that runs one piece of work at a time for a caller that does another piece
/// meanwhile: Start (or TryStart), do your own part, then Wait. It spins briefly after each job before blocking, so
/// that back-to-back jobs do not pay for a wake-up. Posting a job allocates nothing.
/// The parts of a training step that use a second thread (the SGEMM, the output layer's pieces, AdamW) share one
/// worker per index (<see cref="Shared"/>): with a worker each, a worker still spinning after its last job would take
/// a core from the one that has work (docs/results.md has the cost).
/// </summary>
public sealed class LaneWorker
{
    private const int SpinIterations = 2000;
    private static readonly object SharedGate = new();
    private static LaneWorker?[] _shared = [];
    private readonly object _gate = new();
    private Action? _job;
    private int _jobSeq, _doneSeq, _sleeping, _claimed;
    private Exception? _error;

    private LaneWorker(string name)
    {
        new Thread(Loop) { IsBackground = true, Name = name }.Start();
    }

    /// <summary>
    /// The process-wide worker number index (1, 2, ...), created on first use and never stopped. Callers take it
    /// with <see cref="TryStart"/> and do the job themselves when another caller has it.
    /// </summary>
    public static LaneWorker Shared(int index)
    {
        Check.Positive(index, nameof(index));
        lock (SharedGate)
        {
            if (_shared.Length <= index) Array.Resize(ref _shared, index + 1);
            return _shared[index] ??= new LaneWorker($"RnnLm worker {index}");
        }
    }

    /// <summary>
    /// Runs job on the worker thread unless another caller is using it (then returns false and the caller runs the
    /// job itself). After true, call Wait before starting another.
    /// </summary>
    public bool TryStart(Action job)
    {
        if (Interlocked.CompareExchange(ref _claimed, 1, 0) != 0) return false;
        Post(job);
        return true;
    }

    /// <summary>Runs job on the worker thread; call Wait before starting another. Throws if the worker is in use.</summary>
    public void Start(Action job)
    {
        if (!TryStart(job)) throw new InvalidOperationException("The worker is running another caller's job.");
    }

    private void Post(Action job)
    {
        _job = job;
        Interlocked.Increment(ref _jobSeq);
        if (Volatile.Read(ref _sleeping) != 0)
            lock (_gate) Monitor.PulseAll(_gate);
    }

    /// <summary>Waits for the job to finish; rethrows what it threw.</summary>
    public void Wait()
    {
        if (WaitAndTakeError() is Exception e)
            throw new InvalidOperationException("A worker thread failed: " + e.Message, e);
    }

    /// <summary>Waits for the job to finish and returns what it threw, if anything (for callers that must wait for several).</summary>
    public Exception? WaitAndTakeError()
    {
        int target = Volatile.Read(ref _jobSeq);
        var spin = new SpinWait();
        while (Volatile.Read(ref _doneSeq) != target) spin.SpinOnce(sleep1Threshold: -1);
        var e = _error;
        _error = null;
        Volatile.Write(ref _claimed, 0);
        return e;
    }

    private void Loop()
    {
        int seen = 0;
        while (true)
        {
            int spins = 0, seq;
            while ((seq = Volatile.Read(ref _jobSeq)) == seen)
            {
                if (spins++ < SpinIterations) { Thread.SpinWait(20); continue; }
                lock (_gate)
                {
                    Interlocked.Exchange(ref _sleeping, 1);
                    while (Volatile.Read(ref _jobSeq) == seen) Monitor.Wait(_gate);
                    Interlocked.Exchange(ref _sleeping, 0);
                }
            }
            seen = seq;
            try { _job?.Invoke(); }
            catch (Exception e) { _error = e; }
            Volatile.Write(ref _doneSeq, seq);
        }
    }
}
