using RnnLm.Data;

namespace RnnLm.Tests.Data;

public class StreamDatasetTests
{
    [Fact]
    public void Batchify_WindowsAndShortLastWindow()
    {
        int[] tokens = Enumerable.Range(1, 23).ToArray(); // 23 tokens, B = 3 -> L = 7, 2 dropped
        var ds = new StreamDataset(tokens, batchSize: 3, contextSize: 4);
        Assert.Equal(7, ds.StreamLength);
        Assert.Equal(2, ds.BatchCount); // ceil((7 - 1) / 4)
        Assert.Equal(18, ds.TargetTokenCount);

        var b0 = ds.GetBatch(0, 0);
        Assert.Equal(3, b0.BatchSize);
        Assert.Equal(4, b0.SeqLen);
        Assert.Equal([1, 2, 3, 4, 8, 9, 10, 11, 15, 16, 17, 18], b0.InputSpan.ToArray());
        Assert.Equal([2, 3, 4, 5, 9, 10, 11, 12, 16, 17, 18, 19], b0.TargetSpan.ToArray());
        Assert.True(b0.ResetState); // first window of the epoch starts the streams over

        var b1 = ds.GetBatch(0, 1);
        Assert.Equal(2, b1.SeqLen); // min(ctx, L - 1 - 4)
        Assert.Equal([5, 6, 12, 13, 19, 20], b1.InputSpan.ToArray());
        Assert.Equal([6, 7, 13, 14, 20, 21], b1.TargetSpan.ToArray());
        Assert.False(b1.ResetState); // hidden state carried over
        Assert.Equal(6, b1.TokenCount);
    }

    [Fact]
    public void WindowsTileEachStreamExactly()
    {
        var rng = new Random(5);
        int[] tokens = Enumerable.Range(0, 1000).Select(_ => rng.Next(1, 50)).ToArray();
        var ds = new StreamDataset(tokens, batchSize: 7, contextSize: 9);
        long l = ds.StreamLength;
        var rebuilt = Enumerable.Range(0, 7).Select(_ => new List<int>()).ToArray();
        for (int k = 0; k < ds.BatchCount; k++)
        {
            var b = ds.GetBatch(0, k);
            for (int r = 0; r < 7; r++)
            {
                Assert.Equal(b.InputRow(r)[1..].ToArray(), b.TargetRow(r)[..^1].ToArray());
                rebuilt[r].AddRange(b.InputRow(r).ToArray());
                if (k == ds.BatchCount - 1) rebuilt[r].Add(b.TargetRow(r)[^1]);
            }
        }
        for (int r = 0; r < 7; r++)
            Assert.Equal(tokens.AsSpan((int)(r * l), (int)l).ToArray(), rebuilt[r]);
    }

    [Fact]
    public void TooFewTokensThrow()
    {
        Assert.Throws<ArgumentException>(() => new StreamDataset(new int[5], batchSize: 3, contextSize: 4));
    }

    [Fact]
    public void SplitTokensHoldsOutTheEnd()
    {
        var (train, valid) = DataSplit.SplitTokens(Enumerable.Range(0, 100).ToArray(), 0.1);
        Assert.Equal(Enumerable.Range(0, 90), train);
        Assert.Equal(Enumerable.Range(90, 10), valid);
        var (t2, v2) = DataSplit.SplitTokens(new ArrayTokenSource(Enumerable.Range(0, 10).ToArray()), 0.25);
        Assert.Equal(7, t2.Length);
        Assert.Equal([7, 8, 9], v2.GetSpan(0, 3).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => v2.GetSpan(1, 3));
    }

    [Fact]
    public void SplitLinesHoldsOutLastLines()
    {
        var (train, valid) = DataSplit.SplitLines("a\nb\nc\nd\ne\n", 0.4);
        Assert.Equal("a\nb\nc\n", train);
        Assert.Equal("d\ne\n", valid);
        Assert.Throws<ArgumentOutOfRangeException>(() => DataSplit.SplitLines("a\nb\n", 1.0));
    }
}
