using RnnLm.Generation;

namespace RnnLm.Tests.Generation;

/// <summary>Stop sequences found across token boundaries, with nothing of them released.</summary>
public class StopSequenceTests
{
    [Fact]
    public void AStopSpanningSeveralPiecesIsCutAndNeverReleased()
    {
        var m = new StopSequenceMatcher(["END", "xy"]);
        var released = new List<string> { m.Push("ab"), m.Push("cE"), m.Push("N"), m.Push("Dzz") };
        Assert.Equal(["ab", "c", "", ""], released);
        Assert.True(m.Stopped);
        Assert.Equal("", m.Push("more"));
    }

    [Fact]
    public void AFalseStartIsReleasedOnceItCannotBeAStop()
    {
        var m = new StopSequenceMatcher(["END"]);
        Assert.Equal("a", m.Push("aEN"));
        Assert.Equal("ENx", m.Push("x"));
        Assert.Equal("", m.Push("E"));
        Assert.Equal("E", m.Flush());
        Assert.False(m.Stopped);
    }

    [Fact]
    public void TheEarliestOfSeveralStopsWins()
    {
        var m = new StopSequenceMatcher(["cd", "abcdef"]);
        Assert.Equal("", m.Push("abc"));
        Assert.Equal("ab", m.Push("d"));
        Assert.True(m.Stopped);
    }

    [Fact]
    public void GenerationStopsAtAStopSpanningTokensAndTheTextEndsBeforeIt()
    {
        using var lm = TinyModels.Create(range: 0.3f);
        var free = lm.Complete("", new GenerationOptions { MaxTokens = 200, Seed = 9 });
        // A stop of two characters that the free generation contains: it spans a token boundary (char tokens).
        int at = Enumerable.Range(5, free.Text.Length - 6).First(i => free.Text[i] != free.Text[i + 1]);
        string stop = free.Text.Substring(at, 2);
        int first = free.Text.IndexOf(stop, StringComparison.Ordinal);
        var stopped = lm.Complete("", new GenerationOptions { MaxTokens = 200, Seed = 9, Stop = [stop] });
        Assert.Equal(free.Text[..first], stopped.Text);
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(first + 2, stopped.Tokens); // one token per character, up to the end of the stop
        string streamed = string.Concat(lm.Generator.Pieces("", new GenerationOptions { MaxTokens = 200, Seed = 9, Stop = [stop] }, default));
        Assert.Equal(stopped.Text, streamed);
    }

    [Fact]
    public void WordModelsStopOnTextAcrossWords()
    {
        using var lm = TinyModels.Create("word", mode: RnnLm.Training.DataMode.Sentences, range: 1f);
        var free = lm.Complete("the", new GenerationOptions { MaxTokens = 40, Seed = 2 });
        int space = free.Text.IndexOf(' ', 3);
        Assert.True(space > 0, free.Text);
        string stop = free.Text.Substring(space - 1, 3); // the end of one word, the space and the start of the next
        var stopped = lm.Complete("the", new GenerationOptions { MaxTokens = 40, Seed = 2, Stop = [stop] });
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(FinishReason.Stop, stopped.Finish);
    }
}
