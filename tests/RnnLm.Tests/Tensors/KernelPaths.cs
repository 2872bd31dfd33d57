using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

/// <summary>Runs code on a chosen kernel path and puts the path in use back afterwards (for serial tests only).</summary>
internal static class KernelPaths
{
    /// <summary>The paths this CPU can run, as test data.</summary>
    public static TheoryData<string> Supported() => new(KernelPath.Supported);

    public static T With<T>(string path, Func<T> f)
    {
        string saved = KernelPath.Current;
        KernelPath.Force(path);
        try { return f(); }
        finally { KernelPath.Force(saved); }
    }

    public static void With(string path, Action f) => With(path, () => { f(); return 0; });
}
