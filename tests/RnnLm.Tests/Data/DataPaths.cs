namespace RnnLm.Tests.Data;

/// <summary>Locates the shared corpora: "../shared/data" next to the repository root (the folder holding RnnLm.slnx).</summary>
internal static class DataPaths
{
    private static readonly Lazy<string> s_dir = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !System.IO.File.Exists(Path.Combine(dir.FullName, "RnnLm.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("Repository root (RnnLm.slnx) not found above " + AppContext.BaseDirectory);
        return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
    });

    public static string Dir => s_dir.Value;

    public static string File(params string[] parts) => Path.Combine([Dir, .. parts]);

    private static readonly Dictionary<string, string> s_cache = new();

    /// <summary>Reads (and caches) a corpus file.</summary>
    public static string Text(params string[] parts)
    {
        var path = File(parts);
        lock (s_cache)
        {
            if (!s_cache.TryGetValue(path, out var text))
                s_cache[path] = text = RnnLm.Data.CorpusReader.ReadText(path);
            return text;
        }
    }
}
