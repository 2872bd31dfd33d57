using System.Text;
using RnnLm.Data;

namespace RnnLm.Tests.Data;

public class CorpusReaderTests
{
    [Fact]
    public void ReadsRealCorpus()
    {
        var text = CorpusReader.ReadText(DataPaths.File("tinyshakespeare", "input.txt"));
        Assert.StartsWith("First Citizen:", text);
        Assert.Equal(1_115_394, text.Length);
    }

    [Fact]
    public void MissingFile()
    {
        using var tmp = new TempDir();
        var ex = Assert.Throws<CorpusException>(() => CorpusReader.ReadText(tmp.File("nope.txt")));
        Assert.Contains("does not exist", ex.Message);
        Assert.Contains("nope.txt", ex.Message);
    }

    [Fact]
    public void EmptyAndWhitespaceOnly()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp.File("e.txt"), []);
        Assert.Contains("empty", Assert.Throws<CorpusException>(() => CorpusReader.ReadText(tmp.File("e.txt"))).Message);
        File.WriteAllText(tmp.File("w.txt"), " \n\t\r\n  ");
        Assert.Contains("only whitespace", Assert.Throws<CorpusException>(() => CorpusReader.ReadText(tmp.File("w.txt"))).Message);
    }

    [Fact]
    public void InvalidUtf8ReportsOffsetAndLine()
    {
        using var tmp = new TempDir();
        var bytes = Encoding.UTF8.GetBytes("line one\nline two é\nbad ").Concat(new byte[] { 0xC3, 0x28 }).Concat("x\n"u8.ToArray()).ToArray();
        File.WriteAllBytes(tmp.File("u.txt"), bytes);
        var ex = Assert.Throws<CorpusException>(() => CorpusReader.ReadText(tmp.File("u.txt")));
        int offset = Encoding.UTF8.GetByteCount("line one\nline two é\nbad ");
        Assert.Equal(offset, ex.ByteOffset);
        Assert.Equal(3, ex.Line);
        Assert.Contains($"offset {offset}", ex.Message);
        Assert.Contains("line 3", ex.Message);
        Assert.Contains("UTF-8", ex.Message);
    }

    [Fact]
    public void NulBytesMeanBinary()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp.File("b.txt"), [(byte)'a', (byte)'\n', (byte)'b', 0, 1, 2]);
        var ex = Assert.Throws<CorpusException>(() => CorpusReader.ReadText(tmp.File("b.txt")));
        Assert.Contains("binary", ex.Message);
        Assert.Equal(3, ex.ByteOffset);
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void FolderConcatenatesTxtFilesInOrdinalOrder()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("b.txt"), "second");
        File.WriteAllText(tmp.File("B.txt"), "first\r\n");
        File.WriteAllText(tmp.File("c.md"), "ignored");
        File.WriteAllBytes(tmp.File("d.txt"), [0xEF, 0xBB, 0xBF, (byte)'t', (byte)'h', (byte)'i', (byte)'r', (byte)'d']);
        Assert.Equal("first\nsecond\nthird\n", CorpusReader.ReadText(tmp.Path));
        using var empty = new TempDir();
        Assert.Contains("no .txt", Assert.Throws<CorpusException>(() => CorpusReader.ReadText(empty.Path)).Message);
    }
}
