using RnnLm.Data;
using RnnLm.Generation;

namespace RnnLm.Tests.Generation;

/// <summary>Options out of range are refused naming the property; seeds, temperatures, samples and penalties behave.</summary>
public class GenerationOptionsTests
{
    public static TheoryData<GenerationOptions, string> Bad => new()
    {
        { new GenerationOptions { MaxTokens = -1 }, "MaxTokens" },
        { new GenerationOptions { Temperature = 0 }, "Temperature" },
        { new GenerationOptions { TopK = -2 }, "TopK" },
        { new GenerationOptions { TopP = 1.5f }, "TopP" },
        { new GenerationOptions { Stop = ["ok", ""] }, "Stop" },
        { new GenerationOptions { RepetitionPenalty = 0 }, "RepetitionPenalty" },
        { new GenerationOptions { Beam = 0 }, "Beam" },
        { new GenerationOptions { Beam = GenerationOptions.MaxBeam + 1 }, "Beam" },
        { new GenerationOptions { LengthPenalty = float.NaN }, "LengthPenalty" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public async Task AnOptionOutOfRangeIsRefusedNamingIt(GenerationOptions options, string name)
    {
        using var lm = TinyModels.Create();
        var e = Assert.Throws<ArgumentException>(() => lm.Complete("a", options));
        Assert.Equal(name, e.ParamName);
        Assert.StartsWith(name, e.Message);
        var e2 = await Assert.ThrowsAsync<ArgumentException>(async () => { await foreach (var _ in lm.GenerateAsync("a", options)) { } });
        Assert.Equal(name, e2.ParamName);
    }

    [Fact]
    public void APromptWithUnknownCharactersIsRefusedNamingThePromptOrSkipped()
    {
        using var lm = TinyModels.Create();
        var e = Assert.Throws<ArgumentException>(() => lm.Complete("the €", new GenerationOptions()));
        Assert.Equal("prompt", e.ParamName);
        Assert.Contains("U+20AC", e.Message);
        var skipped = lm.Complete("the €", new GenerationOptions { Unknown = UnknownHandling.Skip, MaxTokens = 20 });
        Assert.Equal(lm.Complete("the ", new GenerationOptions { MaxTokens = 20 }).Text, skipped.Text);
    }

    [Fact]
    public void SamplesAtAListOfTemperaturesAreEachTheSingleGeneration()
    {
        using var lm = TinyModels.Create();
        var o = new GenerationOptions { MaxTokens = 30, Seed = 4 };
        var all = lm.Samples("the ", o, [0.2f, 1.0f], samples: 2);
        Assert.Equal(4, all.Count);
        Assert.Equal([0.2f, 0.2f, 1.0f, 1.0f], all.Select(r => r.Temperature));
        Assert.Equal([4UL, 5UL, 4UL, 5UL], all.Select(r => r.Seed));
        foreach (var r in all)
            Assert.Equal(lm.Complete("the ", o with { Temperature = r.Temperature, Seed = r.Seed }).Text, r.Text);
        Assert.True(all.Select(r => r.Text).Distinct().Count() >= 3);
    }

    [Fact]
    public void ARepetitionPenaltyRepeatsLess()
    {
        using var lm = TinyModels.Create(range: 1f);
        static double Repeats(string s) => 1 - s.Distinct().Count() / (double)s.Length;
        double plain = 0, penalised = 0;
        for (ulong seed = 1; seed <= 5; seed++)
        {
            plain += Repeats(lm.Complete("", new GenerationOptions { MaxTokens = 12, Seed = seed, Temperature = 0.7f }).Text);
            penalised += Repeats(lm.Complete("", new GenerationOptions { MaxTokens = 12, Seed = seed, Temperature = 0.7f, RepetitionPenalty = 5f }).Text);
        }
        Assert.True(penalised < plain, $"penalised {penalised}, plain {plain}");
    }

    [Fact]
    public void CandidatesAreTheSoftmaxInOrderAndChoosingOneContinuesWithIt()
    {
        using var lm = TinyModels.Create();
        var c = lm.Candidates("the ", k: 5, temperature: 0.5f);
        Assert.Equal(5, c.Count);
        Assert.True(c.Zip(c.Skip(1)).All(p => p.First.Probability >= p.Second.Probability));
        Assert.DoesNotContain(c, x => x.Id == lm.Tokenizer.PadId);
        var all = lm.Candidates("the ", k: 1000, temperature: 0.5f);
        Assert.Equal(lm.Tokenizer.VocabSize - 1, all.Count);
        Assert.Equal(1.0, all.Sum(x => x.Probability), 1e-5);
        using var g = lm.Generator.Start("the ", new GenerationOptions { MaxTokens = 3, Temperature = 0.5f });
        Assert.Equal(c, g.Candidates(5));
        Assert.Equal(c[1].Text, g.Choose(c[1].Id));
        Assert.Equal(lm.Candidates("the " + c[1].Text, 5, 0.5f), g.Candidates(5));
    }

    [Fact]
    public void GreedyGenerationIsTheSameForAnySeed()
    {
        using var lm = TinyModels.Create();
        var a = lm.Complete("a", new GenerationOptions { Greedy = true, Seed = 1, MaxTokens = 20 });
        var b = lm.Complete("a", new GenerationOptions { Greedy = true, Seed = 99, MaxTokens = 20 });
        Assert.Equal(a.Text, b.Text);
        Assert.Equal(FinishReason.Length, a.Finish);
        Assert.Equal(20, a.Tokens);
    }
}
