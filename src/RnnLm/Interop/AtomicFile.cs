namespace RnnLm.Interop;

/// <summary>
/// Writes a file whole or not at all: the content goes to a temporary file beside the target, is flushed to disk and
/// renamed over the target, so a crash or a full disk never leaves a half-written export where a reader would find it.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes path with write. Without overwrite an existing file is refused (IOException naming it) before anything is
    /// written; a failure removes the temporary file and leaves any earlier file unchanged.
    /// </summary>
    /// <exception cref="IOException">The file exists (and overwrite is false), or it could not be written.</exception>
    public static void Write(string path, bool overwrite, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        RefuseExisting(full, path, overwrite);
        string dir = Path.GetDirectoryName(full)!;
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException && File.Exists(full) && !overwrite) throw new IOException($"{path} already exists; pass --force (overwrite) to replace it.", e);
            throw new IOException($"{path} could not be written ({e.Message}); nothing was left in its place.", e);
        }
    }

    /// <summary>Throws the IOException that <see cref="Write"/> throws for an existing file, without writing anything.</summary>
    public static void RefuseExisting(string full, string shown, bool overwrite)
    {
        if (Directory.Exists(full)) throw new IOException($"{shown} is a folder; the export writes a file.");
        if (!overwrite && File.Exists(full)) throw new IOException($"{shown} already exists; pass --force (overwrite) to replace it.");
    }
}
