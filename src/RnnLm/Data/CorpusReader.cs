using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace RnnLm.Data;

/// <summary>Reads training text with validation and clear error messages.</summary>
public static class CorpusReader
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads a UTF-8 text file, or every <c>*.txt</c> file of a folder in ordinal
    /// name order joined with newlines. A leading byte-order mark is dropped and
    /// CRLF line ends become LF.
    /// </summary>
    /// <exception cref="CorpusException">The path does not exist, a file is empty or whitespace-only,
    /// contains NUL bytes, or is not valid UTF-8 (the message gives the byte offset and line).</exception>
    public static string ReadText(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            return ReadWhole(path);
        }
        catch (OutOfMemoryException e)
        {
            // A text over about 1 GiB cannot be one .NET string: say what to do instead of crashing.
            throw new CorpusException(path, $"Corpus '{path}' is too large to hold in memory as one text. " +
                "Train with --mode stream, which reads it in pieces and memory-maps its token ids.", e);
        }
    }

    private static string ReadWhole(string path)
    {
        if (Directory.Exists(path))
        {
            var files = FolderFiles(path);
            var sb = new StringBuilder();
            foreach (var f in files)
            {
                string t = ReadFile(f);
                sb.Append(t);
                if (!t.EndsWith('\n')) sb.Append('\n');
            }
            return sb.ToString();
        }
        return ReadFile(path);
    }

    /// <summary>Size of the byte blocks <see cref="ReadChunks"/> reads and decodes at a time.</summary>
    internal const int BlockBytes = 1 << 16;

    /// <summary>
    /// Reads the same text as <see cref="ReadText"/>, with the same checks and messages, in pieces of about
    /// <paramref name="chunkChars"/> characters, so that a corpus larger than memory can be tokenised. Files are read
    /// and strictly decoded in 64 KiB blocks; the pieces joined are exactly <c>ReadText(path)</c>.
    /// </summary>
    /// <remarks>
    /// <para>A piece always ends right after a line feed, so it never splits a line. It ends, by preference, at a line
    /// feed followed by a non-whitespace character (the cut <see cref="Gpt2Tokenizer"/> makes in long texts): a piece
    /// is the longest prefix of at most <paramref name="chunkChars"/> characters ending at such a point. When there is
    /// none, it is the longest such prefix ending at any line feed (every line of PTB starts with a space, so PTB has no
    /// preferred cut at all), and when a single line is longer than <paramref name="chunkChars"/>, the piece runs to the
    /// end of that line. A text with no line feed is one piece.</para>
    /// <para>To tokenise the pieces, use <see cref="Tokenizer.EncodeChunks(IEnumerable{string}, Action{ReadOnlySpan{int}})"/>
    /// and the tokenizers' Build overloads that take pieces: their results are those of the whole text, wherever it is
    /// cut. Encoding each piece on its own is not the same for GPT-2: a run of line feeds at the end of a piece is one
    /// token there and several in the whole text.</para>
    /// <para>A missing path or a folder with no .txt files is reported by this call; the contents are checked as the
    /// pieces are read, so a bad byte is reported (as a <see cref="CorpusException"/> thrown by the enumeration) after
    /// the pieces before it have been handed out.</para>
    /// </remarks>
    /// <param name="path">A file, or a folder whose <c>*.txt</c> files are read in ordinal name order, each followed by a
    /// line feed when it does not end in one.</param>
    /// <param name="chunkChars">The size a piece aims at, in UTF-16 characters.</param>
    /// <exception cref="CorpusException">As for <see cref="ReadText"/>.</exception>
    public static IEnumerable<string> ReadChunks(string path, int chunkChars = 1 << 20)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkChars, 1);
        bool folder = Directory.Exists(path);
        if (!folder) CheckExists(path);
        return Chunks(folder ? FolderFiles(path) : [path], folder, chunkChars);
    }

    private static IEnumerable<string> Chunks(string[] files, bool folder, int chunkChars)
    {
        var text = new TextBuffer(chunkChars);
        foreach (var file in files)
        {
            using (var decoder = new FileDecoder(file))
            {
                while (decoder.ReadBlock(text))
                    while (text.TakeChunk(chunkChars) is string chunk) yield return chunk;
            }
            if (folder && text.Last != '\n') text.Append('\n');
        }
        while (text.TakeChunk(chunkChars) is string chunk) yield return chunk;
        if (text.Length > 0) yield return text.TakeAll();
    }

    /// <summary>Checks and decodes bytes as a corpus (exposed for tests and in-memory sources).</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="name">A name for messages.</param>
    public static string Decode(ReadOnlySpan<byte> bytes, string name)
    {
        if (bytes.Length == 0) throw new CorpusException(name, $"Corpus file '{name}' is empty.");
        int nul = bytes.IndexOf((byte)0);
        if (nul >= 0)
            throw new CorpusException(name, $"Corpus file '{name}' looks binary: NUL byte at offset {nul} (line {LineAt(bytes, nul)}).")
            { ByteOffset = nul, Line = LineAt(bytes, nul) };
        var body = bytes;
        if (body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) body = body[3..];
        string text;
        try
        {
            text = s_strictUtf8.GetString(body);
        }
        catch (DecoderFallbackException e)
        {
            long offset = FirstInvalidUtf8(bytes);
            int line = LineAt(bytes, (int)offset);
            throw new CorpusException(name, $"Corpus file '{name}' is not valid UTF-8: invalid byte 0x{bytes[(int)offset]:X2} at offset {offset} (line {line}).", e)
            { ByteOffset = offset, Line = line };
        }
        if (string.IsNullOrWhiteSpace(text)) throw new CorpusException(name, $"Corpus file '{name}' contains only whitespace.");
        if (text.Contains('\r')) text = text.Replace("\r\n", "\n");
        return text;
    }

    private static string ReadFile(string path)
    {
        CheckExists(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CannotRead(path, e);
        }
        return Decode(bytes, path);
    }

    /// <summary>The <c>*.txt</c> files of a folder in ordinal name order.</summary>
    private static string[] FolderFiles(string path)
    {
        var files = Directory.GetFiles(path, "*.txt", SearchOption.TopDirectoryOnly);
        Array.Sort(files, StringComparer.Ordinal);
        if (files.Length == 0) throw new CorpusException(path, $"Corpus folder '{path}' contains no .txt files.");
        return files;
    }

    private static void CheckExists(string path)
    {
        if (!File.Exists(path))
            throw new CorpusException(path, $"Corpus file '{path}' does not exist.", new FileNotFoundException(null, path));
    }

    private static CorpusException CannotRead(string path, Exception e) => new(path, $"Corpus file '{path}' cannot be read: {e.Message}", e);

    private static CorpusException Binary(string name, long offset, long linesBefore)
    {
        int line = LineNumber(linesBefore);
        return new CorpusException(name, $"Corpus file '{name}' looks binary: NUL byte at offset {offset} (line {line}).")
        { ByteOffset = offset, Line = line };
    }

    private static int LineNumber(long linesBefore) => (int)Math.Min(linesBefore + 1, int.MaxValue);

    /// <summary>
    /// Reads one corpus file block by block, makes the checks of <see cref="Decode"/> (with its messages) and appends
    /// the text to a buffer: byte-order mark dropped, CRLF turned into LF.
    /// </summary>
    private sealed class FileDecoder : IDisposable
    {
        private readonly string _path;
        private readonly FileStream _stream;
        private readonly byte[] _bytes = new byte[BlockBytes + 4];
        private int _carry;        // bytes at the start of _bytes not decoded yet: a sequence cut by the block's end
        private long _offset;      // file offset of _bytes[0]
        private long _lines;       // line feeds in the file before _offset
        private bool _started, _done, _sawText, _pendingCr;

        public FileDecoder(string path)
        {
            _path = path;
            CheckExists(path);
            try
            {
                _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CannotRead(path, e);
            }
        }

        /// <summary>Decodes the next block into <paramref name="text"/>; false once the whole file has been read and passed.</summary>
        public bool ReadBlock(TextBuffer text)
        {
            if (_done) return false;
            int n = Read(_bytes.AsSpan(_carry, BlockBytes));
            bool final = n < BlockBytes;
            int have = _carry + n;
            if (!_started && have == 0) throw new CorpusException(_path, $"Corpus file '{_path}' is empty.");
            var block = _bytes.AsSpan(0, have);
            // A NUL byte anywhere is reported before invalid UTF-8 (as Decode does); the carried bytes were checked already.
            int nul = block[_carry..].IndexOf((byte)0);
            if (nul >= 0) throw Binary(_path, _offset + _carry + nul, _lines + block[..(_carry + nul)].Count((byte)'\n'));
            int skip = !_started && block.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
            _started = true;

            // At most one UTF-16 unit per byte, plus a carriage return held back from the last block.
            var dest = text.Reserve(have + 1);
            int w = 0;
            if (_pendingCr) { dest[w++] = '\r'; _pendingCr = false; }
            var status = Utf8.ToUtf16(block[skip..], dest[w..], out int read, out int written, replaceInvalidSequences: false, isFinalBlock: final);
            if (status == OperationStatus.InvalidData) throw Invalid(skip + read, block);
            w += written;
            // A carriage return at the end may be the first half of a CRLF cut by the block's end.
            if (!final && w > 0 && dest[w - 1] == '\r') { _pendingCr = true; w--; }
            w = DropCrBeforeLf(dest[..w]);
            if (!_sawText)
                foreach (char c in dest[..w])
                    if (!char.IsWhiteSpace(c)) { _sawText = true; break; }
            text.Commit(w);

            int consumed = skip + read;
            _lines += block[..consumed].Count((byte)'\n');
            _offset += consumed;
            _carry = have - consumed;
            block[consumed..].CopyTo(_bytes);
            if (final)
            {
                _done = true;
                if (!_sawText) throw new CorpusException(_path, $"Corpus file '{_path}' contains only whitespace.");
            }
            return true;
        }

        /// <summary>The error for invalid UTF-8 at <paramref name="at"/> in the block, unless a NUL byte follows in the file.</summary>
        private CorpusException Invalid(int at, ReadOnlySpan<byte> block)
        {
            long offset = _offset + at;
            int line = LineNumber(_lines + block[..at].Count((byte)'\n'));
            byte bad = block[at];
            long restOffset = _offset + block.Length;
            long restLines = _lines + block.Count((byte)'\n');
            while (Read(_bytes) is int n and > 0)
            {
                var more = _bytes.AsSpan(0, n);
                int nul = more.IndexOf((byte)0);
                if (nul >= 0) return Binary(_path, restOffset + nul, restLines + more[..nul].Count((byte)'\n'));
                restOffset += n;
                restLines += more.Count((byte)'\n');
            }
            return new CorpusException(_path, $"Corpus file '{_path}' is not valid UTF-8: invalid byte 0x{bad:X2} at offset {offset} (line {line}).")
            { ByteOffset = offset, Line = line };
        }

        private int Read(Span<byte> into)
        {
            try
            {
                return _stream.ReadAtLeast(into, into.Length, throwOnEndOfStream: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CannotRead(_path, e);
            }
        }

        /// <summary>Removes every carriage return followed by a line feed; returns the new length.</summary>
        private static int DropCrBeforeLf(Span<char> t)
        {
            int i = t.IndexOf('\r');
            if (i < 0) return t.Length;
            int w = i;
            for (; i < t.Length; i++)
            {
                if (t[i] == '\r' && i + 1 < t.Length && t[i + 1] == '\n') continue;
                t[w++] = t[i];
            }
            return w;
        }

        public void Dispose() => _stream.Dispose();
    }

    /// <summary>Decoded text waiting to be handed out as pieces, and where to cut them (see <see cref="ReadChunks"/>).</summary>
    private sealed class TextBuffer(int chunkChars)
    {
        private char[] _data = new char[2 * Math.Min(chunkChars, 1 << 24) + BlockBytes + 16];
        private int _start, _end;
        private int _noLineFeedBefore;   // when > 0: no line feed in the text up to here (relative to _start)

        public int Length => _end - _start;

        /// <summary>The last character appended (NUL before any).</summary>
        public char Last { get; private set; }

        /// <summary>Room for <paramref name="n"/> more characters, to be filled and then committed.</summary>
        public Span<char> Reserve(int n)
        {
            if (_data.Length - _end < n)
            {
                int length = Length;
                if (length + n > _data.Length)
                {
                    var bigger = new char[(int)Math.Min(Math.Max(2L * _data.Length, (long)length + n), Array.MaxLength)];
                    _data.AsSpan(_start, length).CopyTo(bigger);
                    _data = bigger;
                }
                else _data.AsSpan(_start, length).CopyTo(_data);
                _start = 0;
                _end = length;
            }
            return _data.AsSpan(_end, n);
        }

        public void Commit(int n)
        {
            _end += n;
            if (n > 0) Last = _data[_end - 1];
        }

        public void Append(char c)
        {
            Reserve(1)[0] = c;
            Commit(1);
        }

        /// <summary>The next piece, or null when the text so far does not tell where it ends.</summary>
        public string? TakeChunk(int chunkChars)
        {
            int n = Length;
            if (n <= chunkChars) return null; // the character after a full-size piece must be known
            var text = _data.AsSpan(_start, n);
            int cut = -1;
            if (_noLineFeedBefore == 0)
            {
                int lastLf = text[..chunkChars].LastIndexOf('\n');
                int lf = lastLf;
                while (lf >= 0 && char.IsWhiteSpace(text[lf + 1])) lf = text[..lf].LastIndexOf('\n');
                cut = lf >= 0 ? lf + 1 : lastLf >= 0 ? lastLf + 1 : -1;
            }
            if (cut < 0)
            {
                // A line longer than a piece: it runs to its end.
                int from = Math.Max(chunkChars, _noLineFeedBefore);
                int lf = text[from..].IndexOf('\n');
                if (lf < 0)
                {
                    _noLineFeedBefore = n;
                    return null;
                }
                cut = from + lf + 1;
            }
            string chunk = new(text[..cut]);
            _start += cut;
            _noLineFeedBefore = 0;
            return chunk;
        }

        public string TakeAll()
        {
            string rest = new(_data, _start, Length);
            _start = _end = 0;
            _noLineFeedBefore = 0;
            return rest;
        }
    }

    /// <summary>Offset of the first byte that does not start a well-formed UTF-8 sequence.</summary>
    private static long FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int pos = 0;
        while (pos < bytes.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes[pos..], out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done) return pos;
            pos += consumed;
        }
        return bytes.Length - 1;
    }

    private static int LineAt(ReadOnlySpan<byte> bytes, int offset) => bytes[..offset].Count((byte)'\n') + 1;
}
