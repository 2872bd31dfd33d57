using System.Text;

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
        if (Directory.Exists(path))
        {
            var files = Directory.GetFiles(path, "*.txt", SearchOption.TopDirectoryOnly);
            Array.Sort(files, StringComparer.Ordinal);
            if (files.Length == 0) throw new CorpusException(path, $"Corpus folder '{path}' contains no .txt files.");
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
        if (!File.Exists(path))
            throw new CorpusException(path, $"Corpus file '{path}' does not exist.", new FileNotFoundException(null, path));
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CorpusException(path, $"Corpus file '{path}' cannot be read: {e.Message}", e);
        }
        return Decode(bytes, path);
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
