using RnnLm.Data;

namespace RnnLm.Tests.Data;

public class TokenizerTests
{
    private static string Shakespeare => DataPaths.Text("tinyshakespeare", "input.txt");
    private static string PtbTrain => DataPaths.Text("ptb", "ptb.train.txt");
    private static string WarAndPeace => DataPaths.Text("warandpeace", "warandpeace.txt");

    [Fact]
    public void Char_RoundTripsTinyShakespeare()
    {
        var tok = CharTokenizer.Build(Shakespeare);
        Assert.Equal(66, tok.VocabSize); // 65 characters + pad
        Assert.Equal(0, tok.PadId);
        Assert.Null(tok.UnknownId);
        Assert.Equal("char", tok.Kind);
        var ids = tok.Encode(Shakespeare);
        Assert.Equal(Shakespeare.Length, ids.Length);
        Assert.DoesNotContain(0, ids);
        Assert.Equal(Shakespeare, tok.Decode(ids));
    }

    [Fact]
    public void Char_VocabularyIsSortedByCodePoint()
    {
        var tok = CharTokenizer.Build("cabca\n");
        Assert.Equal("\nabc", tok.Characters.ToString());
        Assert.Equal([3, 4, 2], tok.Encode("bca"));
    }

    [Fact]
    public void Char_UnseenCharacterThrowsNamingIt()
    {
        var tok = CharTokenizer.Build("hello world");
        var ex = Assert.Throws<ArgumentException>(() => tok.Encode("hello Zoxo"));
        Assert.Contains("'Z'", ex.Message);
        Assert.Contains("'x'", ex.Message);
        Assert.DoesNotContain("'o'", ex.Message);
        var list = new List<int> { 7 };
        Assert.Throws<ArgumentException>(() => tok.Encode("hxllo", list));
        Assert.Equal([7], list); // nothing half-appended
    }

    [Fact]
    public void Char_WithUnknownMapsUnseenToUnknownId()
    {
        var tok = CharTokenizer.Build("ab", withUnknown: true);
        Assert.Equal(1, tok.UnknownId);
        Assert.Equal(4, tok.VocabSize);
        Assert.Equal([2, 1, 3], tok.Encode("axb"));
        Assert.Equal("a\uFFFDb", tok.Decode([2, 1, 3]));
    }

    [Fact]
    public void Char_SurrogatePairsAreTwoCodeUnitsAndRoundTrip()
    {
        const string text = "a\U0001F600b\U0001F601";
        var tok = CharTokenizer.Build(text);
        var ids = tok.Encode(text);
        Assert.Equal(text.Length, ids.Length);
        Assert.Equal(6, ids.Length);
        Assert.Equal(text, tok.Decode(ids));
    }

    [Fact]
    public void Char_DecodeSkipsPadAndRejectsOutOfRange()
    {
        var tok = CharTokenizer.Build("ab");
        Assert.Equal("ab", tok.Decode([1, 0, 2, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([-1]));
    }

    [Fact]
    public void Word_PtbVocabularyAndRoundTrip()
    {
        var tok = WordTokenizer.Build(PtbTrain);
        // PTB: 10k words including <unk>, plus <pad> and <eos>.
        Assert.Equal(10_001, tok.VocabSize);
        Assert.Equal(1, tok.UnknownId);
        Assert.Equal(1, tok.IdOf("<unk>"));
        Assert.Equal("the", tok.TokenText(3)); // most frequent word
        var valid = DataPaths.Text("ptb", "ptb.valid.txt");
        var ids = tok.Encode(valid);
        int lines = valid.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.Equal(lines, ids.Count(i => i == WordTokenizer.EosId));
        var expected = string.Concat(valid.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)) + "\n"));
        Assert.Equal(expected, tok.Decode(ids));
        // PTB's vocabulary is closed: the only unknowns are the literal <unk>s.
        Assert.Equal(valid.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Count(w => w == "<unk>"), ids.Count(i => i == 1));
    }

    [Fact]
    public void Word_FrequencyOrderTiesOrdinalMaxVocabAndMinCount()
    {
        const string text = "b a c a\nb d <unk> e\n";
        var tok = WordTokenizer.Build(text);
        // a:2 b:2 c:1 d:1 e:1 -> a, b, then c, d, e
        Assert.Equal(["<pad>", "<unk>", "<eos>", "a", "b", "c", "d", "e"], Enumerable.Range(0, tok.VocabSize).Select(tok.TokenText));
        var capped = WordTokenizer.Build(text, maxVocab: 5);
        Assert.Equal(5, capped.VocabSize);
        Assert.Equal([4, 3, 1, 3, 2], capped.Encode("b a c a"));
        var min2 = WordTokenizer.Build(text, minCount: 2);
        Assert.Equal(5, min2.VocabSize);
        Assert.Equal("a <unk>\nb\n", min2.Decode(min2.Encode("a zzz\nb\n")));
    }

    [Fact]
    public void Word_EosPerLineAndOptionOff()
    {
        var tok = WordTokenizer.Build("x y\nz\n");
        int x = tok.IdOf("x"), y = tok.IdOf("y"), z = tok.IdOf("z");
        Assert.Equal([x, y, 2, z, 2], tok.Encode("x  y\r\nz\n"));
        Assert.Equal([x, y, 2, z, 2], tok.Encode("x y\nz")); // last line without newline still ends
        Assert.Equal([x, 2, 2, z, 2], tok.Encode("x\n\nz\n"));
        var noEos = WordTokenizer.Build("x y\nz\n", appendEos: false);
        Assert.Equal([noEos.IdOf("x"), noEos.IdOf("y"), noEos.IdOf("z")], noEos.Encode("x y\nz\n"));
        Assert.Equal("x y\nz\n", tok.Decode([x, y, 2, z, 2]));
    }

    [Fact]
    public void Gpt2_RoundTripsWarAndPeaceExcerpt()
    {
        var train = WarAndPeace[..200_000];
        var tok = Gpt2Tokenizer.Build(train);
        Assert.Equal("gpt2", tok.Kind);
        Assert.True(tok.VocabSize > 1000 && tok.VocabSize < 20_000, $"compact vocab {tok.VocabSize}");
        var excerpt = train[100_000..104_000];
        var ids = tok.Encode(excerpt);
        Assert.DoesNotContain(1, ids);
        Assert.True(ids.Length < excerpt.Length / 2, "BPE should compress");
        Assert.Equal(excerpt, tok.Decode(ids));
        // compact ids are in GPT-2 id order
        Assert.True(tok.ToGpt2Id(2) < tok.ToGpt2Id(3));
    }

    [Fact]
    public void Gpt2_UnseenTokensBecomeUnknown()
    {
        var tok = Gpt2Tokenizer.Build("the cat sat on the mat");
        var ids = tok.Encode("the cat sat on the zeppelin");
        Assert.Contains(1, ids);
        var text = tok.Decode(ids);
        Assert.StartsWith("the cat sat on the", text);
        Assert.Contains("\uFFFD", text);
    }

    public static IEnumerable<object[]> Kinds() => [["char"], ["word"], ["gpt2"]];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SaveLoad_GivesIdenticalEncodings(string kind)
    {
        var train = Shakespeare[..50_000];
        var tok = TokenizerFactory.Build(kind, train, new TokenizerOptions { MaxVocab = 2000 });
        Assert.Equal(kind, tok.Kind);
        var bytes = tok.ToBytes();
        var loaded = Tokenizer.FromBytes(bytes);
        Assert.Equal(tok.GetType(), loaded.GetType());
        Assert.Equal(tok.VocabSize, loaded.VocabSize);
        Assert.Equal(tok.UnknownId, loaded.UnknownId);
        var sample = Shakespeare[60_000..70_000];
        if (kind == "char") sample = new string(sample.Where(c => train.Contains(c)).ToArray());
        Assert.Equal(tok.Encode(sample), loaded.Encode(sample));
        Assert.Equal(bytes, loaded.ToBytes());
        for (int id = 0; id < tok.VocabSize; id += 97) Assert.Equal(tok.TokenText(id), loaded.TokenText(id));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Load_CorruptBytesThrowInvalidData(string kind)
    {
        var tok = TokenizerFactory.Build(kind, "to be or not to be, that is the question\n");
        var bytes = tok.ToBytes();
        // every truncation
        for (int n = 0; n < bytes.Length; n++)
        {
            var cut = bytes[..n];
            Assert.Throws<InvalidDataException>(() => Tokenizer.FromBytes(cut));
        }
        // bad magic, bad version, unknown kind
        var bad = (byte[])bytes.Clone(); bad[0] ^= 0xFF;
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => Tokenizer.FromBytes(bad)).Message);
        bad = (byte[])bytes.Clone(); bad[4] = 99;
        Assert.Contains("version", Assert.Throws<InvalidDataException>(() => Tokenizer.FromBytes(bad)).Message);
        bad = (byte[])bytes.Clone(); bad[9] = (byte)'X';
        Assert.Contains("kind", Assert.Throws<InvalidDataException>(() => Tokenizer.FromBytes(bad)).Message);
        // huge count
        bad = (byte[])bytes.Clone();
        int countAt = 8 + 1 + kind.Length + (kind == "gpt2" ? 0 : 1);
        BitConverter.GetBytes(int.MaxValue).CopyTo(bad, countAt);
        Assert.Throws<InvalidDataException>(() => Tokenizer.FromBytes(bad));
    }

    [Fact]
    public void Load_DuplicateOrUnsortedEntriesAreRejected()
    {
        var c = CharTokenizer.Build("ab").ToBytes();
        (c[^2], c[^4]) = (c[^4], c[^2]); // swap 'a' and 'b' (little-endian UTF-16 units)
        Assert.Throws<InvalidDataException>(() => Tokenizer.FromBytes(c));

        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(0x4B544E52); w.Write(1); w.Write("word"); w.Write(true); w.Write(2); w.Write("dup"); w.Write("dup");
        }
        var ex = Assert.Throws<InvalidDataException>(() => Tokenizer.FromBytes(ms.ToArray()));
        Assert.Contains("dup", ex.Message);
    }

    [Fact]
    public void Factory_RejectsUnknownKind()
    {
        var ex = Assert.Throws<ArgumentException>(() => TokenizerFactory.Build("bpe", "text"));
        Assert.Contains("bpe", ex.Message);
        Assert.IsType<WordTokenizer>(TokenizerFactory.Build(" Word ", "a b"));
    }
}
