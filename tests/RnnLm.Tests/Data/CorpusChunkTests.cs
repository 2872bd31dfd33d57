using System.Text;
using RnnLm.Data;

namespace RnnLm.Tests.Data;

/// <summary>CorpusReader.ReadChunks reads exactly what ReadText reads, and fails exactly as it does.</summary>
public class CorpusChunkTests
{
    private const int Block = 1 << 16; // the byte blocks ReadChunks decodes

    [Theory]
    [InlineData("tinyshakespeare", "input.txt")]
    [InlineData("ptb", "ptb.train.txt")]
    [InlineData("warandpeace", "warandpeace.txt")]
    public void ChunksJoinToReadTextOnRealCorpora(string folder, string file)
    {
        string path = DataPaths.File(folder, file);
        string whole = DataPaths.Text(folder, file);
        const int chunkChars = 4096;
        var chunks = CorpusReader.ReadChunks(path, chunkChars).ToList();

        Assert.Equal(whole, string.Concat(chunks));
        Assert.True(chunks.Count > whole.Length / chunkChars / 2, $"{chunks.Count} chunks for {whole.Length} characters");
        // No line of these corpora is longer than a chunk, so no chunk is either, and every cut is at a line end.
        Assert.All(chunks, c => Assert.InRange(c.Length, 1, chunkChars));
        Assert.All(chunks[..^1], c => Assert.EndsWith("\n", c));
        if (folder == "tinyshakespeare")
            // Here a line feed followed by a non-space character is never far: every cut is one.
            Assert.All(chunks.Skip(1), c => Assert.False(char.IsWhiteSpace(c[0])));

        // The default size joins to the same text.
        Assert.Equal(whole, string.Concat(CorpusReader.ReadChunks(path)));
    }

    [Fact]
    public void PtbIsCutAtLineEndsThoughEveryLineStartsWithASpace()
    {
        var chunks = CorpusReader.ReadChunks(DataPaths.File("ptb", "ptb.valid.txt"), 1000).ToList();
        Assert.True(chunks.Count > 300);
        Assert.All(chunks.Skip(1), c => Assert.StartsWith(" ", c));
        Assert.All(chunks, c => Assert.True(c.Length <= 1000));
    }

    [Fact]
    public void AFolderOfFilesJoinsAsReadTextJoinsIt()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("b.txt"), "second");
        File.WriteAllText(tmp.File("B.txt"), "first\r\n");
        File.WriteAllText(tmp.File("c.md"), "ignored");
        File.WriteAllBytes(tmp.File("d.txt"), [0xEF, 0xBB, 0xBF, .. "third\r"u8]);
        // A larger file with lines starting with spaces (no preferred cut) and one without a final newline.
        File.WriteAllText(tmp.File("e.txt"), string.Concat(Enumerable.Range(0, 5000).Select(i => $" line {i} é\r\n")) + "end");
        File.WriteAllText(tmp.File("f.txt"), DataPaths.Text("tinyshakespeare", "input.txt")[..200_000]);

        string whole = CorpusReader.ReadText(tmp.Path);
        Assert.StartsWith("first\nsecond\nthird\r\n line 0 é\n", whole);
        foreach (int size in new[] { 1, 100, 4096, 1 << 20 })
        {
            var chunks = CorpusReader.ReadChunks(tmp.Path, size).ToList();
            Assert.Equal(whole, string.Concat(chunks));
            if (size >= 100) Assert.All(chunks, c => Assert.True(c.Length <= size));
        }
        using var empty = new TempDir();
        Assert.Contains("no .txt", Assert.Throws<CorpusException>(() => CorpusReader.ReadChunks(empty.Path)).Message);
    }

    [Fact]
    public void CrlfAndByteOrderMarkAcrossBlockBoundaries()
    {
        using var tmp = new TempDir();
        // BOM, then CRLF lines laid out so that a CR is the last byte of the first block and its LF the first of the next.
        var bytes = new List<byte> { 0xEF, 0xBB, 0xBF };
        while (bytes.Count + 4 <= Block - 1) bytes.AddRange("ab\r\n"u8);
        while (bytes.Count < Block - 1) bytes.Add((byte)'a');
        bytes.AddRange("\r\nnext line\r\n"u8);
        while (bytes.Count < 3 * Block) bytes.AddRange("x\r\r\n\r"u8);
        bytes.AddRange(Encoding.UTF8.GetBytes("\uFEFFkept\r"));
        File.WriteAllBytes(tmp.File("crlf.txt"), bytes.ToArray());
        Assert.Equal((byte)'\r', bytes[Block - 1]);
        Assert.Equal((byte)'\n', bytes[Block]);

        string whole = CorpusReader.ReadText(tmp.File("crlf.txt"));
        Assert.Contains("\nnext line\nx\r\n\rx", whole); // one CR of "\r\r\n" goes, as in string.Replace
        Assert.DoesNotContain("\r\nnext", whole);
        Assert.NotEqual('\uFEFF', whole[0]);
        Assert.EndsWith("\uFEFFkept\r", whole);
        foreach (int size in new[] { 1, 4096, 1 << 20 })
            Assert.Equal(whole, string.Concat(CorpusReader.ReadChunks(tmp.File("crlf.txt"), size)));
    }

    [Fact]
    public void MultiByteCharactersAcrossBlockBoundariesAreValid()
    {
        using var tmp = new TempDir();
        // A 2-, 3- and 4-byte character starting one to three bytes before each of the first block boundaries.
        string[] chars = ["é", "€", "😀"];
        var bytes = new List<byte>();
        for (int k = 0; k < 9; k++)
        {
            byte[] c = Encoding.UTF8.GetBytes(chars[k % 3]);
            int boundary = (k + 1) * Block;
            int start = boundary - 1 - k / 3 % (c.Length - 1); // straddles: starts before the boundary, ends after it
            while (bytes.Count < start) bytes.Add(bytes.Count % 80 == 79 ? (byte)'\n' : (byte)'a');
            Assert.InRange(boundary - start, 1, c.Length - 1);
            bytes.AddRange(c);
        }
        bytes.AddRange("\nend\n"u8.ToArray());
        File.WriteAllBytes(tmp.File("mb.txt"), bytes.ToArray());

        string whole = CorpusReader.ReadText(tmp.File("mb.txt"));
        Assert.Contains("😀", whole);
        foreach (int size in new[] { 7, 4096, 1 << 20 })
            Assert.Equal(whole, string.Concat(CorpusReader.ReadChunks(tmp.File("mb.txt"), size)));
    }

    [Theory]
    [InlineData(Block - 1)]
    [InlineData(Block)]
    [InlineData(Block + 1)]
    [InlineData(3 * Block)]
    [InlineData(3 * Block + 40_000)]
    public void InvalidUtf8AtABlockBoundaryIsReportedAsReadTextReportsIt(int at)
    {
        using var tmp = new TempDir();
        var bytes = Lines(at + 2000);
        bytes[at] = 0xFF;
        File.WriteAllBytes(tmp.File("bad.txt"), bytes);
        var e = AssertSameError(tmp.File("bad.txt"));
        Assert.Equal(at, e.ByteOffset);
        Assert.Contains("0xFF", e.Message);
    }

    [Fact]
    public void ASequenceCutShortAtABlockBoundaryIsInvalidAtItsFirstByte()
    {
        using var tmp = new TempDir();
        // "€" is E2 82 AC: its first two bytes end the first block and an ASCII letter follows.
        var bytes = Lines(Block + 500);
        bytes[Block - 2] = 0xE2;
        bytes[Block - 1] = 0x82;
        bytes[Block] = (byte)'z';
        File.WriteAllBytes(tmp.File("cut.txt"), bytes);
        Assert.Equal(Block - 2, AssertSameError(tmp.File("cut.txt")).ByteOffset);

        // The same at the very end of the file.
        File.WriteAllBytes(tmp.File("end.txt"), [.. Lines(2 * Block), 0xE2, 0x82]);
        Assert.Equal(2 * Block, AssertSameError(tmp.File("end.txt")).ByteOffset);

        // With a byte-order mark, offsets still count from the start of the file.
        File.WriteAllBytes(tmp.File("bom.txt"), [0xEF, 0xBB, 0xBF, .. Lines(Block), 0xC3, 0x28, (byte)'\n']);
        Assert.Equal(3 + Block, AssertSameError(tmp.File("bom.txt")).ByteOffset);
    }

    [Fact]
    public void ChunksBeforeABadByteAreHandedOutFirst()
    {
        using var tmp = new TempDir();
        var bytes = Lines(5 * Block);
        bytes[^10] = 0xC0;
        File.WriteAllBytes(tmp.File("late.txt"), bytes);
        int before = 0;
        var e = Assert.Throws<CorpusException>(() =>
        {
            foreach (var _ in CorpusReader.ReadChunks(tmp.File("late.txt"), 4096)) before++;
        });
        Assert.True(before > 50, $"{before} chunks before the error");
        Assert.Equal(bytes.Length - 10, e.ByteOffset);
    }

    [Fact]
    public void NulBytesAreReportedAsReadTextReportsThem()
    {
        using var tmp = new TempDir();
        var bytes = Lines(2 * Block);
        bytes[Block + 7] = 0;
        File.WriteAllBytes(tmp.File("nul.txt"), bytes);
        var e = AssertSameError(tmp.File("nul.txt"));
        Assert.Contains("binary", e.Message);
        Assert.Equal(Block + 7, e.ByteOffset);

        // A NUL byte anywhere wins over invalid UTF-8 before it, as in ReadText.
        bytes[100] = 0xFF;
        bytes[Block + 7] = (byte)'a';
        bytes[^3] = 0;
        File.WriteAllBytes(tmp.File("both.txt"), bytes);
        e = AssertSameError(tmp.File("both.txt"));
        Assert.Contains("binary", e.Message);
        Assert.Equal(bytes.Length - 3, e.ByteOffset);

        File.WriteAllBytes(tmp.File("small.bin"), [(byte)'a', (byte)'\n', (byte)'b', 0, 1, 2]);
        Assert.Equal(3, AssertSameError(tmp.File("small.bin")).ByteOffset);
    }

    [Fact]
    public void EmptyWhitespaceOnlyAndMissingFiles()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp.File("e.txt"), []);
        Assert.Contains("empty", AssertSameError(tmp.File("e.txt")).Message);
        File.WriteAllText(tmp.File("w.txt"), " \n\t\r\n  ");
        Assert.Contains("only whitespace", AssertSameError(tmp.File("w.txt")).Message);
        File.WriteAllBytes(tmp.File("bom.txt"), [0xEF, 0xBB, 0xBF]);
        Assert.Contains("only whitespace", AssertSameError(tmp.File("bom.txt")).Message);
        File.WriteAllText(tmp.File("long.txt"), string.Concat(Enumerable.Repeat(" \r\n\t\n", 3 * Block)));
        Assert.Contains("only whitespace", AssertSameError(tmp.File("long.txt")).Message);

        // A missing file is reported by the call itself, before any enumeration.
        var e = Assert.Throws<CorpusException>(() => CorpusReader.ReadChunks(tmp.File("nope.txt")));
        Assert.Equal(Assert.Throws<CorpusException>(() => CorpusReader.ReadText(tmp.File("nope.txt"))).Message, e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    /// <summary>ASCII lines of 60 characters, <paramref name="length"/> bytes in all.</summary>
    private static byte[] Lines(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = i % 61 == 60 ? (byte)'\n' : (byte)('a' + i % 26);
        return bytes;
    }

    /// <summary>ReadText and ReadChunks fail on the file with the same message, offset and line.</summary>
    private static CorpusException AssertSameError(string path)
    {
        var expected = Assert.Throws<CorpusException>(() => CorpusReader.ReadText(path));
        var actual = Assert.Throws<CorpusException>(() => CorpusReader.ReadChunks(path, 4096).Count());
        Assert.Equal(expected.Message, actual.Message);
        Assert.Equal(expected.ByteOffset, actual.ByteOffset);
        Assert.Equal(expected.Line, actual.Line);
        Assert.Equal(path, actual.FilePath);
        return actual;
    }
}
