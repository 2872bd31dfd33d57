using System.Runtime.CompilerServices;
using RnnLm.Tensors;

namespace RnnLm.Tests;

/// <summary>
/// RNNLM_KERNELS=avx512|avx2|v128|scalar runs the whole test process on that kernel path (CI runs the numeric tests
/// once per path the machine can run); a path the CPU cannot run fails every test with the reason.
/// </summary>
internal static class KernelPathFromEnvironment
{
    /// <summary>The path the environment asks for, or null.</summary>
    public static string? Requested => Environment.GetEnvironmentVariable("RNNLM_KERNELS") is { Length: > 0 } p ? p : null;

#pragma warning disable CA2255 // a module initializer is what makes the variable apply before any test runs
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply()
    {
        if (Requested is string path) KernelPath.Force(path);
    }
}
