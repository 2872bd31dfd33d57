using System.Numerics.Tensors;
using RnnLm.Generation;

namespace RnnLm.Tests.Generation;

/// <summary>The sampler's draws against the inverse of the cumulative distribution computed here, and its filters.</summary>
public class TokenSamplerTests
{
    private static float[] Logits(int v, int seed)
    {
        var rng = new Rng((ulong)seed);
        var l = new float[v];
        for (int i = 0; i < v; i++) l[i] = 6 * rng.NextFloat() - 3;
        return l;
    }

    /// <summary>
    /// Full-vocabulary sampling is the inverse of the cumulative distribution in id order: the id drawn is the one
    /// whose running sum (computed here in double, one at a time) passes u·Σp, up to the rounding of the sums.
    /// </summary>
    [Theory]
    [InlineData(7, 1f)]
    [InlineData(10000, 1f)]
    [InlineData(301, 0.7f)]
    public void AFullVocabularyDrawIsTheInverseOfTheCumulativeSum(int v, float temperature)
    {
        var logits = Logits(v, v);
        var sampler = new TokenSampler(new SamplingOptions(Temperature: temperature), new Rng(5));
        var mirror = new Rng(5);
        // The weights exp(l/T - max) with the library's exp, as the sampler takes them (a softmax without the division).
        var p = new float[v];
        TensorPrimitives.Divide(logits, temperature, p);
        TensorPrimitives.Subtract(p, TensorPrimitives.Max(p), p);
        RnnLm.Tensors.FastMath.Exp(p, p);
        var cumulative = new double[v + 1];
        for (int i = 0; i < v; i++) cumulative[i + 1] = cumulative[i] + p[i];
        var drawn = new HashSet<int>();
        for (int n = 0; n < 300; n++)
        {
            double r = mirror.NextDouble() * cumulative[v];
            int got = sampler.Next(logits);
            drawn.Add(got);
            double slack = 1e-12 * cumulative[v];
            Assert.True(cumulative[got] - slack <= r && r < cumulative[got + 1] + slack,
                $"draw {n}: u·total = {r:R} but token {got} covers [{cumulative[got]:R}, {cumulative[got + 1]:R})");
        }
        Assert.True(drawn.Count > Math.Min(v, 300) / 4, $"only {drawn.Count} distinct tokens in 300 draws");
    }

    [Fact]
    public void DrawsFollowTheSoftmaxAndNeverABannedToken()
    {
        float[] logits = [0f, 1f, 2f, -1f, 0.5f];
        var sampler = new TokenSampler(new SamplingOptions(), new Rng(9));
        var counts = new int[5];
        const int draws = 40_000;
        for (int n = 0; n < draws; n++) counts[sampler.Next(logits, [3])]++;
        Assert.Equal(0, counts[3]);
        double z = 0;
        for (int i = 0; i < 5; i++) if (i != 3) z += Math.Exp(logits[i]);
        for (int i = 0; i < 5; i++)
        {
            if (i == 3) continue;
            double want = Math.Exp(logits[i]) / z, got = counts[i] / (double)draws;
            Assert.True(Math.Abs(got - want) < 4 * Math.Sqrt(want * (1 - want) / draws), $"token {i}: {got} against {want}");
        }
    }

    [Fact]
    public void TopKOneAndATinyTopPAreTheGreedyChoice()
    {
        var logits = Logits(500, 3);
        int best = TensorPrimitives.IndexOfMax(logits);
        var greedy = new TokenSampler(new SamplingOptions(Greedy: true), new Rng(1));
        var topK = new TokenSampler(new SamplingOptions(TopK: 1), new Rng(1));
        var topP = new TokenSampler(new SamplingOptions(TopP: 1e-6f), new Rng(1));
        for (int n = 0; n < 20; n++)
        {
            Assert.Equal(best, greedy.Next(logits));
            Assert.Equal(best, topK.Next(logits));
            Assert.Equal(best, topP.Next(logits));
        }
    }

    [Fact]
    public void TopKDrawsOnlyFromTheKMostLikely()
    {
        var logits = Logits(200, 4);
        var top = Enumerable.Range(0, 200).OrderByDescending(i => logits[i]).Take(5).ToHashSet();
        var sampler = new TokenSampler(new SamplingOptions(TopK: 5), new Rng(2));
        var seen = new HashSet<int>();
        for (int n = 0; n < 2000; n++) seen.Add(sampler.Next(logits));
        Assert.Subset(top, seen);
        Assert.True(seen.Count >= 4, $"only {seen.Count} of the top 5 drawn in 2000 draws");
    }
}
