using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Tests.Generation;

/// <summary>Per-token and per-line scores add up to eval's totals, and each is the model's own log-probability.</summary>
public class ScoringTests
{
    private const string Lines = "the cat sat on the mat\n\nthe dog\na\nsat on the log\n";

    [Theory]
    [InlineData("char", CellType.Elman)]
    [InlineData("char", CellType.Lstm)]
    [InlineData("word", CellType.Gru)]
    public void CarriedScoresAddUpToEvalsStreamTotal(string tokenizer, CellType cell)
    {
        using var lm = TinyModels.Create(tokenizer, cell, mode: DataMode.Stream);
        // One stream, as eval scores with --batch 1 (with more, each parallel stream starts from a zero state).
        var eval = lm.Evaluate(Lines, batch: 1);
        var lines = lm.ScoreLines(Lines, ScoreContext.Carried).ToList();
        Assert.Equal(5, lines.Count);
        Assert.Equal(eval.Tokens, lines.Sum(l => l.Tokens.Count));
        Assert.Equal(eval.Loss * eval.Tokens, -lines.Sum(l => l.LogProb), 1e-3);
        Assert.Equal("the dog", lines[2].Text);
    }

    [Theory]
    [InlineData("char")]
    [InlineData("word")]
    public void ZeroStateScoresAddUpToEvalsSentenceTotal(string tokenizer)
    {
        using var lm = TinyModels.Create(tokenizer, mode: DataMode.Sentences) ;
        // Eval cuts lines to the training context + 1 tokens: give it a long enough context.
        using var wide = new LanguageModel(lm.Model, lm.Tokenizer, lm.Options! with { Ctx = 64 });
        var eval = wide.Evaluate(Lines);
        var lines = lm.ScoreLines(Lines, ScoreContext.Zero).ToList();
        Assert.Equal(eval.Tokens, lines.Sum(l => l.Tokens.Count));
        Assert.Equal(eval.Loss * eval.Tokens, -lines.Sum(l => l.LogProb), 1e-3);
        Assert.Empty(lines[1].Tokens); // the blank line
        Assert.True(double.IsNaN(lines[1].Perplexity));
    }

    [Fact]
    public void EachTokensScoreIsItsLogSoftmaxGivenTheLineSoFar()
    {
        using var lm = TinyModels.Create();
        var line = lm.ScoreLines("cat\n", ScoreContext.Zero).Single();
        var ids = lm.Tokenizer.Encode("cat\n");
        var state = new float[lm.Model.StateLength(1)];
        var logits = new float[lm.Model.Config.VocabSize];
        Assert.Equal(ids.Length - 1, line.Tokens.Count);
        for (int t = 0; t < ids.Length - 1; t++)
        {
            lm.Model.Step([ids[t]], state, logits);
            double lse = Math.Log(logits.Sum(x => Math.Exp(x)));
            Assert.Equal(ids[t + 1], line.Tokens[t].Id);
            Assert.Equal(logits[ids[t + 1]] - lse, line.Tokens[t].LogProb, 1e-5);
        }
        Assert.Equal(line.Tokens.Sum(t => t.LogProb), line.LogProb, 1e-9);
        Assert.Equal(Math.Exp(-line.LogProb / 3), line.Perplexity, 1e-9);
    }

    [Fact]
    public void UnknownCharactersAreRefusedNamingTheTextOrSkipped()
    {
        using var lm = TinyModels.Create();
        var e = Assert.Throws<ArgumentException>(() => lm.ScoreLines("the cat €\n").ToList());
        Assert.Equal("text", e.ParamName);
        Assert.Contains("U+20AC", e.Message);
        var found = new UnknownCharacters();
        var skipped = lm.ScoreLines("the cat €\n", unknown: UnknownHandling.Skip, found: found).Single();
        Assert.Equal("the cat ", skipped.Text);
        Assert.Equal(1, found.Count);
    }
}
