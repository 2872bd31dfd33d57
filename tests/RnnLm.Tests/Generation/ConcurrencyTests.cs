using RnnLm.Generation;
using RnnLm.Nn;

namespace RnnLm.Tests.Generation;

/// <summary>One loaded model shared by many sessions at once gives each the outputs it gets alone.</summary>
public class ConcurrencyTests
{
    private static GenerationOptions Request(int i) => new()
    {
        MaxTokens = 60, Seed = (ulong)(100 + i), Temperature = 0.5f + 0.1f * (i % 5), TopK = i % 3 == 0 ? 5 : 0,
        TopP = i % 4 == 0 ? 0.9f : 1f, RepetitionPenalty = i % 2 == 0 ? 1.3f : 1f, Beam = i % 7 == 3 ? 3 : 1,
    };

    [Theory]
    [InlineData(CellType.Elman)]
    [InlineData(CellType.Lstm)]
    public async Task ParallelSessionsGiveTheOutputsOfSessionsRunOneAtATime(CellType cell)
    {
        using var lm = TinyModels.Create(cell: cell);
        const int n = 16;
        var alone = Enumerable.Range(0, n).Select(i => lm.Complete("the ", Request(i)).Text).ToArray();
        var scoresAlone = lm.ScoreLines(TinyModels.Text).Select(l => l.LogProb).ToArray();
        // Many at once: streamed generations, whole generations and scorings on the thread pool, started together.
        using var go = new ManualResetEventSlim();
        var streamed = Enumerable.Range(0, n).Select(i => Task.Run(async () =>
        {
            go.Wait();
            var sb = new System.Text.StringBuilder();
            await foreach (var piece in lm.GenerateAsync("the ", Request(i))) sb.Append(piece);
            return sb.ToString();
        })).ToArray();
        var whole = Enumerable.Range(0, n).Select(i => Task.Run(() => { go.Wait(); return lm.Complete("the ", Request(i)).Text; })).ToArray();
        var scored = Enumerable.Range(0, 4).Select(_ => Task.Run(() => { go.Wait(); return lm.ScoreLines(TinyModels.Text).Select(l => l.LogProb).ToArray(); })).ToArray();
        go.Set();
        Assert.Equal(alone, await Task.WhenAll(streamed));
        Assert.Equal(alone, await Task.WhenAll(whole));
        foreach (var s in await Task.WhenAll(scored)) Assert.Equal(scoresAlone, s);
        Assert.Equal(0, lm.ActiveSessions);
        Assert.True(alone.Distinct().Count() > n / 2, "the requests differ, so a mix-up between sessions would show");
    }

    [Fact]
    public void ASessionStepsLikeTheModelsOwnStep()
    {
        using var lm = TinyModels.Create(cell: CellType.Gru, tie: true);
        var model = lm.Model;
        using var session = new InferenceSession(model);
        var state = new float[model.StateLength(1)];
        var logits = new float[model.Config.VocabSize];
        foreach (int id in new[] { 1, 4, 2, 7, 3 })
        {
            model.Step([id], state, logits);
            session.Step(id);
            Assert.Equal(state, session.State.ToArray());
            Assert.Equal(logits, session.Logits.ToArray());
        }
    }

    [Fact]
    public void TheOldGenerateGivesTheTextOfTheReferenceLoop()
    {
        using var lm = TinyModels.Create();
        var sampling = new SamplingOptions(Temperature: 0.9f, TopK: 6);
        string text = string.Concat(lm.Generate("the c", 40, sampling, seed: 5));
        // The loop generation ran before sessions: model.Step and TokenSampler, padding banned.
        var ids = lm.Tokenizer.Encode("the c");
        var state = new float[lm.Model.StateLength(1)];
        var logits = new float[lm.Model.Config.VocabSize];
        foreach (int id in ids) lm.Model.Step([id], state, logits);
        var sampler = new TokenSampler(sampling, new Rng(5));
        var expected = new System.Text.StringBuilder();
        for (int i = 0; i < 40; i++)
        {
            int next = sampler.Next(logits, [lm.Tokenizer.PadId]);
            expected.Append(lm.Tokenizer.TokenText(next));
            lm.Model.Step([next], state, logits);
        }
        Assert.Equal(expected.ToString(), text);
    }
}
