namespace RnnLm.Tests;

/// <summary>Finds ../shared beside the repository root (where CI lays it).</summary>
public static class SharedFolder
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Root { get; } = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "RnnLm.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("RnnLm.slnx not found above the test binaries.");
    }
}
