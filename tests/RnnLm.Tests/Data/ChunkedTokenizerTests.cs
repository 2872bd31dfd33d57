using RnnLm.Data;

namespace RnnLm.Tests.Data;

/// <summary>Tokenizers built and run from a text in pieces give exactly what the whole text gives.</summary>
public class ChunkedTokenizerTests
{
    private static string Shakespeare => DataPaths.Text("tinyshakespeare", "input.txt");

    /// <summary>The text cut every <paramref name="every"/> characters, wherever that falls (inside words and lines).</summary>
    private static IEnumerable<string> CutEvery(string text, int every)
    {
        for (int i = 0; i < text.Length; i += every) yield return text.Substring(i, Math.Min(every, text.Length - i));
    }

    private static int[] EncodeInChunks(Tokenizer tok, IEnumerable<string> chunks)
    {
        var ids = new List<int>();
        int calls = 0;
        tok.EncodeChunks(chunks, span => { ids.AddRange(span); calls++; });
        Assert.True(calls > 0);
        return ids.ToArray();
    }

    [Fact]
    public void CharFromChunksEqualsTheWholeText()
    {
        string path = DataPaths.File("tinyshakespeare", "input.txt");
        var whole = CharTokenizer.Build(Shakespeare);
        var chunks = CorpusReader.ReadChunks(path, 4096);
        Assert.Equal(whole.ToBytes(), CharTokenizer.Build(chunks).ToBytes());
        Assert.Equal(CharTokenizer.Build(Shakespeare, withUnknown: true).ToBytes(), CharTokenizer.Build(CutEvery(Shakespeare, 777), withUnknown: true).ToBytes());
        Assert.Equal(whole.Encode(Shakespeare), EncodeInChunks(whole, chunks));
        Assert.Equal(whole.Encode(Shakespeare), whole.EncodeChunks(CutEvery(Shakespeare, 777)));
    }

    [Fact]
    public void WordFromChunksEqualsTheWholeText()
    {
        string path = DataPaths.File("ptb", "ptb.train.txt");
        string text = DataPaths.Text("ptb", "ptb.train.txt");
        var whole = WordTokenizer.Build(text);
        Assert.Equal(whole.ToBytes(), WordTokenizer.Build(CorpusReader.ReadChunks(path, 4096)).ToBytes());
        // Cut inside words: a word split across two pieces is still one word.
        Assert.Equal(whole.ToBytes(), WordTokenizer.Build(CutEvery(text, 1001)).ToBytes());
        Assert.Equal(WordTokenizer.Build(Shakespeare, maxVocab: 500, minCount: 3, appendEos: false).ToBytes(),
            WordTokenizer.Build(CutEvery(Shakespeare, 333), maxVocab: 500, minCount: 3, appendEos: false).ToBytes());

        int[] expected = whole.Encode(text);
        Assert.Equal(expected, EncodeInChunks(whole, CorpusReader.ReadChunks(path, 4096)));
        Assert.Equal(expected, EncodeInChunks(whole, CutEvery(text, 1001)));
        // The last line has no line feed: it still ends with <eos>, once, whatever the cuts.
        var small = WordTokenizer.Build("a bb\nccc d");
        Assert.Equal(small.Encode("a bb\nccc d\n  "), small.EncodeChunks(CutEvery("a bb\nccc d\n  ", 1)));
        Assert.Equal(small.Encode("a bb\nccc d"), small.EncodeChunks(["a b", "b\ncc", "", "c d"]));
    }

    [Fact]
    public void Gpt2FromChunksEqualsTheWholeText()
    {
        // A slice of War and Peace longer than the 64K-character pieces GPT-2 text is encoded in.
        string text = DataPaths.Text("warandpeace", "warandpeace.txt")[..150_000];
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("slice.txt"), text);
        var whole = Gpt2Tokenizer.Build(text);
        int[] expected = whole.Encode(text);
        foreach (var chunks in new[] { CorpusReader.ReadChunks(tmp.File("slice.txt"), 4096), CutEvery(text, 9973) })
        {
            Assert.Equal(whole.ToBytes(), Gpt2Tokenizer.Build(chunks).ToBytes());
            Assert.Equal(expected, EncodeInChunks(whole, chunks));
        }
    }

    [Theory]
    [InlineData("char")]
    [InlineData("word")]
    [InlineData("gpt2")]
    public void TheFactoryBuildsTheSameFromChunks(string kind)
    {
        string text = Shakespeare[..20_000];
        var options = new TokenizerOptions { MaxVocab = 300, MinCount = 2 };
        Assert.Equal(TokenizerFactory.Build(kind, text, options).ToBytes(), TokenizerFactory.Build(kind, CutEvery(text, 2500), options).ToBytes());
        Assert.Throws<ArgumentException>(() => TokenizerFactory.Build(kind == "word" ? "bpe" : kind, Array.Empty<string>()));
    }
}
