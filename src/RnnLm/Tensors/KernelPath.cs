using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>
/// Which kernel path runs: "avx512", "avx2", "v128" or "scalar" (<see cref="KernelSet"/>). The widest the CPU can run
/// is chosen at start; <see cref="Force"/> picks another for the whole process (the CLI and the tests read
/// RNNLM_KERNELS). Every path gives the same bits (tested), so forcing one changes the speed only.
/// </summary>
public static class KernelPath
{
    private static KernelSet _current = KernelSet.All.First(k => k.IsSupported);

    /// <summary>The names of every path, widest first.</summary>
    public static IReadOnlyList<string> All { get; } = KernelSet.All.Select(k => k.Name).ToArray();

    /// <summary>The paths this CPU can run, widest first.</summary>
    public static IReadOnlyList<string> Supported { get; } = KernelSet.All.Where(k => k.IsSupported).Select(k => k.Name).ToArray();

    /// <summary>The path in use now.</summary>
    public static string Current => _current.Name;

    /// <summary>The kernels of the path in use.</summary>
    internal static KernelSet Set => _current;

    /// <summary>
    /// Uses the named path from now on, for the whole process. Throws an ArgumentException that names the path and
    /// the CPU's features when the name is unknown or the CPU cannot run it (never an illegal instruction).
    /// Not to be called while kernels are running on other threads.
    /// </summary>
    public static void Force(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var set = KernelSet.All.FirstOrDefault(k => k.Name == path)
            ?? throw new ArgumentException($"kernel path '{path}' is unknown: use one of {string.Join(", ", All)}.", nameof(path));
        if (!set.IsSupported)
            throw new ArgumentException($"kernel path '{path}' needs {set.Needs}, which this CPU ({CpuModel}; features: {CpuFeatures}) " +
                $"lacks; it can run: {string.Join(", ", Supported)}.", nameof(path));
        _current = set;
    }

    /// <summary>The CPU's model name as the operating system gives it (Linux: /proc/cpuinfo), else its architecture.</summary>
    public static string CpuModel { get; } = ReadCpuModel();

    /// <summary>The instruction sets the runtime reports that the kernels care about, e.g. "sse4.1 avx avx2 fma avx512f".</summary>
    public static string CpuFeatures { get; } = DescribeFeatures();

    private static string DescribeFeatures()
    {
        var f = new List<string> { RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant() };
        if (Sse2.IsSupported) f.Add("sse2");
        if (Sse41.IsSupported) f.Add("sse4.1");
        if (Avx.IsSupported) f.Add("avx");
        if (Avx2.IsSupported) f.Add("avx2");
        if (Fma.IsSupported) f.Add("fma");
        if (Avx512F.IsSupported) f.Add("avx512f");
        if (AdvSimd.IsSupported) f.Add("advsimd");
        if (!Vector128.IsHardwareAccelerated) f.Add("no vector acceleration");
        return string.Join(" ", f);
    }

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
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
