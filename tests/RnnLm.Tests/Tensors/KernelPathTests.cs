using System.Text.Json;
using RnnLm.Tensors;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Tensors;

/// <summary>Choosing the kernel path: what the CPU can run is accepted, anything else refused by name.</summary>
[Collection(nameof(SgemmCollection))]
public class KernelPathChoiceTests
{
    [Fact]
    public void EveryPathIsEitherRunOrRefusedWithTheCpusFeatures()
    {
        string before = KernelPath.Current;
        Assert.Equal(KernelPathFromEnvironment.Requested ?? KernelPath.Supported[0], before);
        Assert.Equal(new[] { "avx512", "avx2", "v128", "scalar" }, KernelPath.All);
        Assert.Contains("scalar", KernelPath.Supported);
        try
        {
            foreach (var path in KernelPath.All)
            {
                if (KernelPath.Supported.Contains(path))
                {
                    KernelPath.Force(path);
                    Assert.Equal(path, KernelPath.Current);
                }
                else
                {
                    var e = Assert.Throws<ArgumentException>(() => KernelPath.Force(path));
                    Assert.Contains(path, e.Message);
                    Assert.Contains(KernelPath.CpuModel, e.Message);
                    Assert.Contains(KernelPath.CpuFeatures, e.Message);
                }
            }
            var bad = Assert.Throws<ArgumentException>(() => KernelPath.Force("neon"));
            Assert.Contains("'neon'", bad.Message);
        }
        finally
        {
            KernelPath.Force(before);
        }
    }

    [Fact]
    public void BenchNamesTheCpuPathAndThreadsAndTheEnvironmentForcesOrRefusesOne()
    {
        var run = CliRunner.RunWith(new Dictionary<string, string> { ["RNNLM_KERNELS"] = "scalar" },
            "bench", "--config", "custom", "--vocab", "50", "--emb", "8", "--layers", "1", "--batch", "4", "--ctx", "5", "--steps", "1",
            "--threads", "3");
        Assert.True(run.ExitCode == 0, run.ToString());
        var json = JsonDocument.Parse(run.Out.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("scalar", json.GetProperty("kernels").GetString());
        Assert.Equal(KernelPath.CpuModel, json.GetProperty("cpu").GetString());
        Assert.Equal(3, json.GetProperty("threads").GetInt32());

        // A path the CPU cannot run: .NET's DOTNET_EnableAVX512=0 / DOTNET_EnableAVX2=0 hide those instruction sets.
        foreach (var (path, knob) in new[] { ("avx512", "DOTNET_EnableAVX512"), ("avx2", "DOTNET_EnableAVX2") })
        {
            var refused = CliRunner.RunWith(new Dictionary<string, string> { ["RNNLM_KERNELS"] = path, [knob] = "0" }, "bench", "--steps", "1");
            Assert.True(refused.ExitCode == 2, refused.ToString());
            Assert.Contains($"kernel path '{path}' needs", refused.Err);
            Assert.Contains("features:", refused.Err);
            Assert.DoesNotContain("   at ", refused.Err);
        }
        var bogus = CliRunner.RunWith(new Dictionary<string, string> { ["RNNLM_KERNELS"] = "sse9" }, "bench", "--steps", "1");
        Assert.True(bogus.ExitCode == 2 && bogus.Err.Contains("RNNLM_KERNELS") && bogus.Err.Contains("sse9"), bogus.ToString());
        Assert.DoesNotContain("   at ", bogus.Err);
    }
}
