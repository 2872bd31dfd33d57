using RnnLm.Data;

namespace RnnLm.Tests.Data;

public class DataLoaderTests
{
    private static SentenceDataset Dataset()
    {
        var rng = new Random(9);
        var lines = Enumerable.Range(0, 103).Select(i => Enumerable.Range(0, 2 + rng.Next(12)).Select(j => 1 + (i * 13 + j) % 97).ToArray());
        return new SentenceDataset(lines, batchSize: 10, contextSize: 8, shuffle: true, seed: 3);
    }

    private static string Snapshot(Batch b) => $"{b.BatchSize}x{b.SeqLen} in=[{string.Join(',', b.InputSpan.ToArray())}] tg=[{string.Join(',', b.TargetSpan.ToArray())}] reset={b.ResetState}";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void YieldsTheDatasetsBatchesInOrder(bool prefetch)
    {
        var ds = Dataset();
        var loader = new DataLoader(ds, prefetch);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            int k = 0;
            foreach (var b in loader.Batches(epoch))
            {
                var expected = ds.GetBatch(epoch, k);
                Assert.Equal(Snapshot(expected), Snapshot(b));
                Assert.Equal(k, b.Index);
                Assert.Equal(epoch, b.Epoch);
                k++;
                Assert.Equal(new LoaderPosition(epoch, k), loader.Position);
            }
            Assert.Equal(ds.BatchCount, k);
        }
    }

    [Fact]
    public void ResumeFromSavedPositionContinuesExactly()
    {
        var ds = Dataset();
        var loader = new DataLoader(ds);
        var full = loader.Batches(1).Select(Snapshot).ToList();
        LoaderPosition saved = default;
        int seen = 0;
        foreach (var _ in loader.Batches(1))
        {
            if (++seen == 4) { saved = loader.Position; break; } // stop after training on 4 batches
        }
        Assert.Equal(new LoaderPosition(1, 4), saved);
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, true)) saved.Save(w);
        ms.Position = 0;
        var restored = LoaderPosition.Load(new BinaryReader(ms));
        var resumed = new DataLoader(ds).Batches(restored).Select(Snapshot).ToList();
        Assert.Equal(full.Skip(4).ToList(), resumed);
        Assert.Empty(loader.Batches(1, ds.BatchCount));
    }

    [Fact]
    public void OnlyOneEnumerationAtATime()
    {
        var loader = new DataLoader(Dataset());
        using var e = loader.Batches(0).GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.Throws<InvalidOperationException>(() => loader.Batches(0).GetEnumerator().MoveNext());
        e.Dispose();
        Assert.NotEmpty(loader.Batches(0));
    }

    private sealed class FailingDataset : BatchDataset
    {
        public override int BatchCount => 5;
        public override int MaxBatchSize => 1;
        public override int MaxSeqLen => 1;
        public override bool ResetState => true;
        public override long TargetTokenCount => 5;
        public override void Fill(int epoch, int index, Batch batch)
        {
            if (index == 3) throw new InvalidDataException("boom at 3");
            batch.Reset(1, 1);
            batch.Inputs[0] = index;
        }
    }

    [Fact]
    public void BackgroundErrorsSurfaceOnTheCallersThread()
    {
        var loader = new DataLoader(new FailingDataset());
        var got = new List<int>();
        var ex = Assert.Throws<InvalidDataException>(() => { foreach (var b in loader.Batches(0)) got.Add(b.Inputs[0]); });
        Assert.Equal("boom at 3", ex.Message);
        Assert.Equal([0, 1, 2], got);
    }
}
