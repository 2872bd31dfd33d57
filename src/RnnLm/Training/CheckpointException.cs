namespace RnnLm.Training;

/// <summary>A checkpoint that cannot be read: missing, truncated, corrupt, or of another format version.</summary>
public sealed class CheckpointException(string path, string message, Exception? inner = null)
    : IOException($"{path}: {message}", inner)
{
    public string FilePath { get; } = path;
}
