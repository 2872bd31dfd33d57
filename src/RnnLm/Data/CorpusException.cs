namespace RnnLm.Data;

/// <summary>
/// A training or validation text cannot be used: missing, empty, binary or not UTF-8.
/// Derives from <see cref="IOException"/>; the message says what is wrong and where.
/// </summary>
public sealed class CorpusException : IOException
{
    /// <summary>Creates the exception.</summary>
    public CorpusException(string path, string message, Exception? inner = null)
        : base(message, inner)
    {
        FilePath = path;
    }

    /// <summary>The file or folder concerned.</summary>
    public string FilePath { get; }

    /// <summary>Byte offset of the problem in the file, when there is one.</summary>
    public long? ByteOffset { get; init; }

    /// <summary>1-based line of the problem, when there is one.</summary>
    public int? Line { get; init; }
}
