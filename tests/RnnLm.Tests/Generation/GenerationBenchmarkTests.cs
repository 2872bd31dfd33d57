using RnnLm.Generation;

namespace RnnLm.Tests.Generation;

/// <summary>What the generation benchmark reports (not how fast it is).</summary>
public class GenerationBenchmarkTests
{
    [Fact]
    public void GeneratesTheRequestedTokensAndReportsAPositiveRate()
    {
        var r = GenerationBenchmark.Run(vocab: 50, emb: 8, hidden: 12, layers: 2, tokens: 64, threads: 1);
        Assert.Equal(64, r.Tokens);
        Assert.Equal(64, r.Generated.Length);
        Assert.All(r.Generated, id => Assert.InRange(id, 1, 49)); // padding (0) is never drawn
        Assert.True(r.Seconds > 0);
        Assert.True(r.TokensPerSecond > 0);
        Assert.True(r.MsPerToken > 0);
        Assert.Equal(1000.0 / r.TokensPerSecond, r.MsPerToken, 0.01 * r.MsPerToken);
        Assert.Equal((50, 8, 12, 2, 1), (r.Vocab, r.Emb, r.Hidden, r.Layers, r.Threads));
    }

    [Fact]
    public void SamplesRatherThanRepeatingOneToken()
    {
        var r = GenerationBenchmark.Run(vocab: 30, emb: 8, hidden: 8, layers: 1, tokens: 200, threads: 1);
        Assert.True(r.Generated.Distinct().Count() > 1);
    }

    [Fact]
    public void IsDeterministicForASeedWhateverTheThreadCount()
    {
        var a = GenerationBenchmark.Run(vocab: 40, emb: 8, hidden: 16, layers: 2, tokens: 50, threads: 1, seed: 3);
        var b = GenerationBenchmark.Run(vocab: 40, emb: 8, hidden: 16, layers: 2, tokens: 50, threads: 2, seed: 3);
        Assert.Equal(a.Generated, b.Generated);
    }

    [Fact]
    public void RejectsANonPositiveTokenCount() =>
        Assert.ThrowsAny<ArgumentException>(() => GenerationBenchmark.Run(vocab: 10, emb: 4, hidden: 4, layers: 1, tokens: 0));
}
