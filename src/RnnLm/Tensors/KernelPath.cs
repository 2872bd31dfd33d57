using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>
/// Which vector path the kernels take: "avx512" (the SGEMM's 12x32 kernel and FastMath's 16 lanes), "avx2" (the
/// 6x16 kernel and 8 lanes) or "portable" (no AVX2/FMA). The first two give the same bits (tested); the widest
/// the CPU has is chosen at start, and <see cref="Force"/> picks another (the CLI reads RNNLM_KERNELS).
/// </summary>
public static class KernelPath
{
    /// <summary>The paths this CPU can run, widest first.</summary>
    public static IReadOnlyList<string> Supported { get; } = Detect();

    private static string[] Detect()
    {
        var paths = new List<string>();
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            if (Avx512F.IsSupported) paths.Add("avx512");
            paths.Add("avx2");
        }
        else paths.Add("portable");
        return paths.ToArray();
    }

    /// <summary>The path in use now.</summary>
    public static string Current =>
        !SgemmKernels.UseAvx ? "portable" : SgemmKernels.UseAvx512 && FastMath.UseAvx512 ? "avx512" : "avx2";

    /// <summary>
    /// Uses the named path from now on, for the whole process. Throws an ArgumentException that names the path and
    /// the CPU's features when the CPU cannot run it.
    /// </summary>
    public static void Force(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path is not ("avx512" or "avx2"))
            throw new ArgumentException($"kernel path '{path}' is not one that can be chosen: use avx512 or avx2 " +
                "(the portable path runs where AVX2 is missing, or with DOTNET_EnableAVX2=0).", nameof(path));
        if (!Supported.Contains(path))
            throw new ArgumentException($"kernel path '{path}' needs {(path == "avx512" ? "AVX-512F" : "AVX2 and FMA")}, " +
                $"which this CPU ({CpuModel}) lacks; it can run: {string.Join(", ", Supported)}.", nameof(path));
        bool wide = path == "avx512";
        SgemmKernels.UseAvx512 = wide;
        FastMath.UseAvx512 = wide;
    }

    /// <summary>The CPU's model name as the operating system gives it (Linux: /proc/cpuinfo), else its architecture.</summary>
    public static string CpuModel { get; } = ReadCpuModel();

    private static string ReadCpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int i and >= 0)
                        return line[(i + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
