using RnnLm.Generation;
using RnnLm.Nn;

namespace RnnLm.Tests.Generation;

/// <summary>Beam search against an exhaustive search of every continuation on a tiny model.</summary>
public class BeamSearchTests
{
    /// <summary>The best continuation by log-probability / tokens^alpha over every sequence of up to maxTokens tokens.</summary>
    private static (string Text, double LogProb, int Tokens, bool Stopped) Exhaustive(LanguageModel lm, string prompt, int maxTokens, string[] stops, double alpha)
    {
        var model = lm.Model;
        int V = model.Config.VocabSize;
        var state = new float[model.StateLength(1)];
        var logits = new float[V];
        foreach (int id in lm.Tokenizer.Encode(prompt)) model.Step([id], state, logits);
        (string, double, int, bool) best = ("", double.NegativeInfinity, 0, false);
        double bestScore = double.NegativeInfinity;
        void Visit(string text, double lp, int depth, float[] s, float[] l)
        {
            double max = l.Max(), sum = 0;
            foreach (float x in l) sum += Math.Exp(x - max);
            double lse = max + Math.Log(sum);
            for (int v = 1; v < V; v++)
            {
                string t = text + lm.Tokenizer.TokenText(v);
                double p = lp + l[v] - lse;
                int stopAt = stops.Select(st => t.IndexOf(st, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
                if (stopAt >= 0 || depth + 1 == maxTokens)
                {
                    double score = p / Math.Pow(depth + 1, alpha);
                    if (score > bestScore) { bestScore = score; best = (stopAt >= 0 ? t[..stopAt] : t, p, depth + 1, stopAt >= 0); }
                    continue;
                }
                var s2 = (float[])s.Clone();
                var l2 = new float[V];
                model.Step([v], s2, l2);
                Visit(t, p, depth + 1, s2, l2);
            }
        }
        Visit("", 0, 0, state, logits);
        return best;
    }

    [Theory]
    [InlineData(CellType.Elman, 1.0, new string[0])]
    [InlineData(CellType.Elman, 0.0, new[] { "ca" })]
    [InlineData(CellType.Gru, 1.0, new[] { "bb", "ac" })]
    [InlineData(CellType.Lstm, 0.5, new[] { "c" })]
    public void AWideEnoughBeamFindsTheExhaustiveBest(CellType cell, double alpha, string[] stops)
    {
        // Vocabulary: padding, a, b, c. Three tokens of three choices: 27 sequences, all kept by a beam of 27.
        using var lm = TinyModels.Create(cell: cell, text: "abcabc", range: 1.5f, seed: 11);
        Assert.Equal(4, lm.Tokenizer.VocabSize);
        var expected = Exhaustive(lm, "ab", 3, stops, alpha);
        var r = lm.Complete("ab", new GenerationOptions { MaxTokens = 3, Beam = 27, Stop = stops, LengthPenalty = (float)alpha });
        Assert.Equal(expected.Text, r.Text);
        Assert.Equal(expected.Tokens, r.Tokens);
        Assert.Equal(expected.LogProb, r.LogProb, 1e-4);
        Assert.Equal(expected.Stopped ? FinishReason.Stop : FinishReason.Length, r.Finish);
    }

    [Fact]
    public void ABeamOfOneIsTheGreedyPath()
    {
        using var lm = TinyModels.Create(range: 1f);
        var greedy = lm.Complete("the ", new GenerationOptions { MaxTokens = 30, Greedy = true });
        var beam1 = BeamSearch.Run(lm.Generator, "the ", new GenerationOptions { MaxTokens = 30, Beam = 1 });
        Assert.Equal(greedy.Text, beam1.Text);
        Assert.Equal(greedy.LogProb, beam1.LogProb, 1e-9);
        Assert.Equal(30, beam1.Tokens);
    }

    [Fact]
    public void AWideBeamIsNeverWorseThanGreedyAndSometimesBetter()
    {
        // A beam wide enough to be exhaustive is never worse than the greedy path, and on some models strictly better.
        bool anyBetter = false;
        for (ulong seed = 1; seed <= 8; seed++)
        {
            using var lm = TinyModels.Create(text: "abcabc", range: 1.5f, seed: seed);
            var one = BeamSearch.Run(lm.Generator, "a", new GenerationOptions { MaxTokens = 3, Beam = 1, LengthPenalty = 0 });
            var wide = BeamSearch.Run(lm.Generator, "a", new GenerationOptions { MaxTokens = 3, Beam = 27, LengthPenalty = 0 });
            Assert.True(wide.LogProb >= one.LogProb - 1e-9);
            anyBetter |= wide.LogProb > one.LogProb + 1e-6;
        }
        Assert.True(anyBetter);
    }
}
