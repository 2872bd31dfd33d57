using RnnLm.Data;

namespace RnnLm.Tests.Data;

public class SentenceDatasetTests
{
    private static readonly int[][] Lines =
    [
        [5, 6, 7],
        [8],                      // too short: dropped
        [9, 10, 11, 12, 13, 14],  // cut to ctx + 1 = 5 tokens
        [15, 16],
        [],                       // dropped
    ];

    [Fact]
    public void Batches_ShiftPadTruncateAndDrop()
    {
        var ds = new SentenceDataset(Lines, batchSize: 2, contextSize: 4, shuffle: false);
        Assert.Equal(3, ds.LineCount);
        Assert.Equal(2, ds.BatchCount);
        Assert.Equal(4, ds.MaxSeqLen);
        Assert.Equal(2 + 4 + 1, ds.TargetTokenCount);

        var b0 = ds.GetBatch(0, 0);
        Assert.Equal(2, b0.BatchSize);
        Assert.Equal(4, b0.SeqLen);
        Assert.True(b0.ResetState);
        Assert.Equal([5, 6, 0, 0, 9, 10, 11, 12], b0.InputSpan.ToArray());
        Assert.Equal([6, 7, 0, 0, 10, 11, 12, 13], b0.TargetSpan.ToArray());
        Assert.Equal([2, 4], b0.Lengths.AsSpan(0, 2).ToArray());
        Assert.Equal(6, b0.TokenCount);

        var b1 = ds.GetBatch(0, 1); // last partial batch kept, T from its own longest line
        Assert.Equal(1, b1.BatchSize);
        Assert.Equal(1, b1.SeqLen);
        Assert.Equal([15], b1.InputSpan.ToArray());
        Assert.Equal([16], b1.TargetSpan.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetBatch(0, 2));
    }

    [Fact]
    public void ReusedBatchIsFullyOverwritten()
    {
        var ds = new SentenceDataset(Lines, batchSize: 2, contextSize: 4, shuffle: false);
        var batch = ds.CreateBatch();
        ds.Fill(0, 0, batch);
        ds.Fill(0, 1, batch);
        ds.Fill(0, 0, batch);
        Assert.Equal([5, 6, 0, 0, 9, 10, 11, 12], batch.InputSpan.ToArray());
        Assert.Equal([6, 7, 0, 0, 10, 11, 12, 13], batch.TargetSpan.ToArray());
    }

    private static int[][] ManyLines()
    {
        var rng = new Random(123);
        return Enumerable.Range(0, 50).Select(i => Enumerable.Range(0, 2 + rng.Next(8)).Select(j => 100 * (i + 1) + j).ToArray()).ToArray();
    }

    private static List<int[]> EpochRows(SentenceDataset ds, int epoch)
    {
        var rows = new List<int[]>();
        for (int k = 0; k < ds.BatchCount; k++)
        {
            var b = ds.GetBatch(epoch, k);
            for (int r = 0; r < b.BatchSize; r++)
            {
                int n = b.Lengths[r];
                rows.Add([.. b.InputRow(r)[..n].ToArray(), b.TargetRow(r)[n - 1]]);
                Assert.All(b.InputRow(r)[n..].ToArray(), v => Assert.Equal(0, v));
                Assert.All(b.TargetRow(r)[n..].ToArray(), v => Assert.Equal(0, v));
            }
        }
        return rows;
    }

    [Fact]
    public void Shuffle_DeterministicPerSeedNewOrderPerEpochSameLines()
    {
        var lines = ManyLines();
        var a = new SentenceDataset(lines, 8, 16, shuffle: true, seed: 7);
        var b = new SentenceDataset(lines, 8, 16, shuffle: true, seed: 7);
        var c = new SentenceDataset(lines, 8, 16, shuffle: true, seed: 8);
        var a0 = EpochRows(a, 0);
        Assert.Equal(a0, EpochRows(b, 0));
        Assert.Equal(a0, EpochRows(a, 0)); // also after other epochs were computed in between
        var a1 = EpochRows(a, 1);
        Assert.NotEqual(a0, a1);
        Assert.NotEqual(a0, EpochRows(c, 0));
        var expected = lines.Select(l => string.Join(',', l)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, a0.Select(l => string.Join(',', l)).Order(StringComparer.Ordinal).ToList());
        Assert.Equal(expected, a1.Select(l => string.Join(',', l)).Order(StringComparer.Ordinal).ToList());
        Assert.NotEqual(lines.Select(l => string.Join(',', l)).ToList(), a0.Select(l => string.Join(',', l)).ToList());
        // without shuffling, file order every epoch
        var plain = new SentenceDataset(lines, 8, 16, shuffle: false);
        Assert.Equal(lines.Select(l => string.Join(',', l)), EpochRows(plain, 3).Select(l => string.Join(',', l)));
    }

    [Fact]
    public void FromText_WordTokenizerAddsEosPerLine()
    {
        const string text = "a b c\n\nb\nc a\n";
        var tok = WordTokenizer.Build(text);
        var ds = SentenceDataset.FromText(text, tok, batchSize: 4, contextSize: 10, shuffle: false);
        Assert.Equal(3, ds.LineCount); // empty line skipped; "b" + <eos> has 2 tokens
        Assert.Equal([tok.IdOf("a"), tok.IdOf("b"), tok.IdOf("c"), WordTokenizer.EosId], ds.Line(0).ToArray());
        Assert.Equal([tok.IdOf("b"), WordTokenizer.EosId], ds.Line(1).ToArray());
    }

    [Fact]
    public void FromText_CharTokenizerKeepsNewline()
    {
        var tok = CharTokenizer.Build("ab\nb\n");
        var ds = SentenceDataset.FromText("ab\nb\n", tok, 2, 10, shuffle: false);
        Assert.Equal(tok.Encode("ab\n"), ds.Line(0).ToArray());
        Assert.Equal(tok.Encode("b\n"), ds.Line(1).ToArray());
    }

    [Fact]
    public void NoUsableLineThrows()
    {
        Assert.Throws<ArgumentException>(() => new SentenceDataset([[1], []], 2, 4));
    }
}
