using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace RnnLm.Data;

/// <summary>
/// A tokenised corpus on disk: a 24-byte header followed by little-endian int32 ids,
/// read back memory-mapped so a large corpus is never loaded whole.
/// Header: magic "RNLMTOKS" (8 bytes), int32 format version (1), int32 vocabulary size
/// (0 when unknown), int64 token count.
/// </summary>
public sealed unsafe class TokenIdFile : TokenSource, IDisposable
{
    /// <summary>Header size in bytes.</summary>
    public const int HeaderSize = 24;

    /// <summary>Format version written by this build.</summary>
    public const int Version = 1;

    private static ReadOnlySpan<byte> MagicBytes => "RNLMTOKS"u8;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private bool _disposed;

    private TokenIdFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long count, int vocabSize)
    {
        Path = path;
        _map = map;
        _view = view;
        Length = count;
        VocabSize = vocabSize;
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Vocabulary size recorded in the header (0 when not recorded).</summary>
    public int VocabSize { get; }

    /// <inheritdoc/>
    public override long Length { get; }

    /// <inheritdoc/>
    public override ReadOnlySpan<int> GetSpan(long start, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckRange(start, length);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Token id files are little-endian.");
        return new ReadOnlySpan<int>(_base + HeaderSize + start * sizeof(int), length);
    }

    /// <summary>Writes ids to a new file (replacing any existing one).</summary>
    public static void Write(string path, ReadOnlySpan<int> ids, int vocabSize = 0)
    {
        using var writer = new TokenIdFileWriter(path, vocabSize);
        writer.Append(ids);
    }

    /// <summary>
    /// Tokenises a text file chunk by chunk (about 1 MB of lines at a time) straight into a token
    /// id file, so the text never has to be held whole. Returns the number of tokens.
    /// </summary>
    public static long WriteFromText(string path, TextReader text, Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenizer);
        using var writer = new TokenIdFileWriter(path, tokenizer.VocabSize);
        // EncodeChunks gives the ids of the whole text, wherever the pieces are cut.
        tokenizer.EncodeChunks(Pieces(text), writer.Append);
        return writer.Count;
    }

    /// <summary>About 1 MB of lines at a time, each line ended by a line feed.</summary>
    private static IEnumerable<string> Pieces(TextReader text)
    {
        var sb = new System.Text.StringBuilder();
        string? line;
        while ((line = text.ReadLine()) is not null)
        {
            sb.Append(line).Append('\n');
            if (sb.Length >= 1 << 20)
            {
                yield return sb.ToString();
                sb.Clear();
            }
        }
        if (sb.Length > 0) yield return sb.ToString();
    }

    /// <summary>Opens a token id file for memory-mapped reading.</summary>
    /// <exception cref="InvalidDataException">The header is wrong or the file length does not match the count.</exception>
    public static TokenIdFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Token id file '{path}' does not exist.", path);
        long fileLength = new FileInfo(path).Length;
        Span<byte> header = stackalloc byte[HeaderSize];
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            if (fileLength < HeaderSize) throw new InvalidDataException($"Token id file '{path}' is too short ({fileLength} bytes) to hold a header.");
            fs.ReadExactly(header);
        }
        if (!header[..8].SequenceEqual(MagicBytes)) throw new InvalidDataException($"'{path}' is not a token id file (bad magic).");
        int version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (version != Version) throw new InvalidDataException($"Token id file '{path}' has unsupported version {version} (expected {Version}).");
        int vocab = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        long count = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        if (vocab < 0 || count < 0 || count > (fileLength - HeaderSize) / sizeof(int) || HeaderSize + count * sizeof(int) != fileLength)
            throw new InvalidDataException($"Token id file '{path}' is corrupt: header says {count} tokens but the file has {fileLength} bytes.");
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            return new TokenIdFile(path, map, view, count, vocab);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Checks that every id is below <paramref name="vocabSize"/> (reads the whole file).</summary>
    /// <exception cref="InvalidDataException">An id is out of range.</exception>
    public void Validate(int vocabSize)
    {
        const int chunk = 1 << 20;
        for (long i = 0; i < Length; i += chunk)
        {
            var span = GetSpan(i, (int)Math.Min(chunk, Length - i));
            int bad = span.IndexOfAnyExceptInRange(0, vocabSize - 1);
            if (bad >= 0) throw new InvalidDataException($"Token id file '{Path}': id {span[bad]} at position {i + bad} is outside the vocabulary (size {vocabSize}).");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    internal static void WriteHeader(Stream stream, int vocabSize, long count)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        MagicBytes.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], vocabSize);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], count);
        stream.Write(header);
    }
}
