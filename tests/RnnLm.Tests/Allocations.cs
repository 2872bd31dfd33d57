namespace RnnLm.Tests;

/// <summary>Measures what a piece of steady-state work allocates on the calling thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// The fewest bytes the calling thread allocated in any of <paramref name="rounds"/> rounds of
    /// <paramref name="repeats"/> calls of work. The runtime itself can allocate once on this thread when it
    /// recompiles a hot method during a round (tiered compilation lands late on a loaded machine); work that
    /// allocates at every call shows in every round, so a non-zero minimum is the code's own allocation.
    /// </summary>
    public static long OnThread(Action work, int repeats, int rounds = 4)
    {
        long best = long.MaxValue;
        for (int r = 0; r < rounds && best != 0; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < repeats; i++) work();
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return best;
    }
}
