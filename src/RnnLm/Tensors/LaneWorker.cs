namespace RnnLm.Tensors;

/// <summary>
/// A long-lived background thread that runs one piece of work at a time for a caller that does another piece
/// meanwhile: Start, do your own part, then Wait. It spins briefly after each job before blocking, so that
/// back-to-back jobs do not pay for a wake-up. Posting a job allocates nothing.
/// </summary>
public sealed class LaneWorker : IDisposable
{
    private const int SpinIterations = 2000;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private Action? _job;
    private int _jobSeq, _doneSeq, _sleeping;
    private volatile bool _stop;
    private Exception? _error;

    public LaneWorker(string name)
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Runs job on the worker thread; call Wait before starting another.</summary>
    public void Start(Action job)
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
            if (_stop) return;
            try { _job?.Invoke(); }
            catch (Exception e) { _error = e; }
            Volatile.Write(ref _doneSeq, seq);
        }
    }

    /// <summary>Asks the thread to exit after any job under way, without waiting for it.</summary>
    public void RequestStop()
    {
        if (_stop) return;
        _stop = true;
        Interlocked.Increment(ref _jobSeq);
        lock (_gate) Monitor.PulseAll(_gate);
    }

    public void Dispose()
    {
        RequestStop();
        if (Thread.CurrentThread != _thread) _thread.Join();
    }
}
