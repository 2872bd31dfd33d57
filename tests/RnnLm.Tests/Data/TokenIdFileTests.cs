using RnnLm.Data;

namespace RnnLm.Tests.Data;

public class TokenIdFileTests
{
    [Fact]
    public void RoundTripAndStreamBatchesMatchTheArray()
    {
        using var tmp = new TempDir();
        var path = tmp.File("ids.bin");
        var rng = new Random(2);
        int[] ids = Enumerable.Range(0, 10_007).Select(_ => rng.Next(0, 300)).ToArray();
        TokenIdFile.Write(path, ids, vocabSize: 300);
        Assert.Equal(TokenIdFile.HeaderSize + 4L * ids.Length, new FileInfo(path).Length);
        using var file = TokenIdFile.Open(path);
        Assert.Equal(ids.Length, file.Length);
        Assert.Equal(300, file.VocabSize);
        Assert.Equal(ids, file.ToArray());
        Assert.Equal(ids.AsSpan(5000, 17).ToArray(), file.GetSpan(5000, 17).ToArray());
        file.Validate(300);
        Assert.Throws<InvalidDataException>(() => file.Validate(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.GetSpan(10_000, 8));

        var fromArray = new StreamDataset(ids, 8, 35);
        var fromFile = new StreamDataset(file, 8, 35);
        Assert.Equal(fromArray.BatchCount, fromFile.BatchCount);
        for (int k = 0; k < fromArray.BatchCount; k += 7)
        {
            var a = fromArray.GetBatch(0, k);
            var b = fromFile.GetBatch(0, k);
            Assert.Equal(a.InputSpan.ToArray(), b.InputSpan.ToArray());
            Assert.Equal(a.TargetSpan.ToArray(), b.TargetSpan.ToArray());
        }
    }

    [Theory]
    [InlineData("ptb", "ptb.valid.txt")]
    [InlineData("warandpeace", "warandpeace.txt")]   // over 3 MB: several pieces, blank lines at their ends
    public void WriteFromTextTokenisesInChunks(string corpus, string file)
    {
        using var tmp = new TempDir();
        var text = DataPaths.Text(corpus, file).Replace("\r\n", "\n");
        var tok = WordTokenizer.Build(text);
        var path = tmp.File("valid.ids");
        long n = TokenIdFile.WriteFromText(path, new StringReader(text), tok);
        using var ids = TokenIdFile.Open(path);
        Assert.Equal(n, ids.Length);
        Assert.Equal(tok.Encode(text), ids.ToArray());
        Assert.Equal(tok.VocabSize, ids.VocabSize);
    }

    [Fact]
    public void CorruptFilesAreRejected()
    {
        using var tmp = new TempDir();
        var path = tmp.File("ids.bin");
        TokenIdFile.Write(path, [1, 2, 3, 4]);
        var good = File.ReadAllBytes(path);

        File.WriteAllBytes(path, good[..^2]);
        Assert.Contains("corrupt", Assert.Throws<InvalidDataException>(() => TokenIdFile.Open(path)).Message);
        File.WriteAllBytes(path, good[..10]);
        Assert.Throws<InvalidDataException>(() => TokenIdFile.Open(path));
        var bad = (byte[])good.Clone(); bad[0] = (byte)'X';
        File.WriteAllBytes(path, bad);
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => TokenIdFile.Open(path)).Message);
        bad = (byte[])good.Clone(); bad[8] = 7;
        File.WriteAllBytes(path, bad);
        Assert.Contains("version", Assert.Throws<InvalidDataException>(() => TokenIdFile.Open(path)).Message);
        Assert.Throws<FileNotFoundException>(() => TokenIdFile.Open(tmp.File("missing.bin")));
    }
}
