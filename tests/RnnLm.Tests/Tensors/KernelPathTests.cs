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
        Assert.Equal(KernelPath.Supported[0], before);
        try
        {
            foreach (var path in new[] { "avx512", "avx2" })
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
                }
            }
            var bad = Assert.Throws<ArgumentException>(() => KernelPath.Force("neon"));
            Assert.Contains("'neon'", bad.Message);
        }
        finally
        {
            if (before != "portable") KernelPath.Force(before);
        }
    }

    [Fact]
    public void BenchNamesTheCpuAndPathAndTheEnvironmentForcesOrRefusesOne()
    {
        var run = CliRunner.RunWith(new Dictionary<string, string> { ["RNNLM_KERNELS"] = "avx2" },
            "bench", "--config", "custom", "--vocab", "50", "--emb", "8", "--layers", "1", "--batch", "4", "--ctx", "5", "--steps", "1");
        if (KernelPath.Supported.Contains("avx2"))
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            var json = JsonDocument.Parse(run.Out.Trim().Split('\n')[^1]).RootElement;
            Assert.Equal("avx2", json.GetProperty("kernels").GetString());
            Assert.Equal(KernelPath.CpuModel, json.GetProperty("cpu").GetString());
        }
        else Assert.True(run.ExitCode != 0 && run.Err.Contains("avx2"), run.ToString());
        var bogus = CliRunner.RunWith(new Dictionary<string, string> { ["RNNLM_KERNELS"] = "sse9" }, "bench", "--steps", "1");
        Assert.True(bogus.ExitCode == 2 && bogus.Err.Contains("RNNLM_KERNELS") && bogus.Err.Contains("sse9"), bogus.ToString());
        Assert.DoesNotContain("   at ", bogus.Err);
    }
}
