using System.Runtime.InteropServices;

namespace RnnLm.Data;

/// <summary>
/// Appends token ids to a new <see cref="TokenIdFile"/>. The count in the header is
/// written when the writer is disposed; a file left by a crash has count 0 and a
/// length mismatch, which <see cref="TokenIdFile.Open"/> rejects.
/// </summary>
public sealed class TokenIdFileWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly int _vocabSize;
    private bool _disposed;

    /// <summary>Creates (or replaces) the file.</summary>
    public TokenIdFileWriter(string path, int vocabSize = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfNegative(vocabSize);
        _vocabSize = vocabSize;
        _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        TokenIdFile.WriteHeader(_stream, vocabSize, 0);
    }

    /// <summary>Tokens written so far.</summary>
    public long Count { get; private set; }

    /// <summary>Appends ids.</summary>
    public void Append(ReadOnlySpan<int> ids)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Token id files are little-endian.");
        _stream.Write(MemoryMarshal.AsBytes(ids));
        Count += ids.Length;
    }

    /// <summary>Writes the final count and closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stream.Position = 0;
        TokenIdFile.WriteHeader(_stream, _vocabSize, Count);
        _stream.Dispose();
    }
}
