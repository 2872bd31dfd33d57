namespace RnnLm.Server;

/// <summary>Counts the model sessions running; a request beyond the limit is refused at once (429) rather than queued.</summary>
public sealed class SessionLimiter(int limit)
{
    private int _running;

    public int Limit { get; } = limit;
    public int Running => Volatile.Read(ref _running);

    /// <summary>Takes a slot, or returns false when all are taken. Release it with <see cref="Release"/>.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            int now = Volatile.Read(ref _running);
            if (now >= Limit) return false;
            if (Interlocked.CompareExchange(ref _running, now + 1, now) == now) return true;
        }
    }

    public void Release() => Interlocked.Decrement(ref _running);
}
