using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

/// <summary>The shared worker thread: one caller at a time, the others do their job themselves; same results.</summary>
[Collection(nameof(SgemmCollection))]
public sealed class LaneWorkerTests
{
    [Fact]
    public void ASharedWorkerServesOneCallerAtATime()
    {
        var w = LaneWorker.Shared(7);
        Assert.Same(w, LaneWorker.Shared(7));
        using var release = new ManualResetEventSlim();
        int ran = 0;
        Assert.True(w.TryStart(() => { release.Wait(); Interlocked.Increment(ref ran); }));
        Assert.False(w.TryStart(() => Interlocked.Increment(ref ran)));
        Assert.Throws<InvalidOperationException>(() => w.Start(() => { }));
        release.Set();
        w.Wait();
        Assert.Equal(1, ran);
        Assert.True(w.TryStart(() => Interlocked.Increment(ref ran)));
        w.Wait();
        Assert.Equal(2, ran);
        Assert.Throws<ArgumentException>(() => LaneWorker.Shared(0));
    }

    [Fact]
    public void AJobThatThrowsIsReportedAndReleasesTheWorker()
    {
        var w = LaneWorker.Shared(8);
        Assert.True(w.TryStart(() => throw new FormatException("boom")));
        var e = Assert.Throws<InvalidOperationException>(() => w.Wait());
        Assert.IsType<FormatException>(e.InnerException);
        Assert.True(w.TryStart(() => { }));
        w.Wait();
    }

    [Fact]
    public async Task EnginesUsedFromTwoThreadsAtOnceGiveTheSingleThreadBits()
    {
        // Two 2-thread engines on two threads compete for the shared worker: whoever does not get it runs its
        // slice itself, and every result is still the same bits as on one thread.
        const int m = 97, n = 131, k = 64;
        var rng = new Rng(5);
        var a = new float[m * k];
        var b = new float[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextFloat() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = rng.NextFloat() - 0.5f;
        var want = new float[m * n];
        using (var one = new SgemmEngine(1)) one.Multiply(GemmVariant.NN, m, n, k, a, k, b, n, want, n, accumulate: false);

        void Run()
        {
            using var e = new SgemmEngine(2);
            var c = new float[m * n];
            for (int r = 0; r < 200; r++)
            {
                e.Multiply(GemmVariant.NN, m, n, k, a, k, b, n, c, n, accumulate: false);
                for (int i = 0; i < c.Length; i++)
                    if (BitConverter.SingleToInt32Bits(c[i]) != BitConverter.SingleToInt32Bits(want[i]))
                        throw new Xunit.Sdk.XunitException($"run {r}: element {i} is {c[i]:R}, expected {want[i]:R}");
            }
        }
        await Task.WhenAll(Task.Run(Run), Task.Run(Run));
    }
}
