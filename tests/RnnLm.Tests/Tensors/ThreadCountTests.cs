using RnnLm.Nn;
using RnnLm.Tensors;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Tensors;

/// <summary>
/// More than two threads: the fused output layer (its pieces taken by whichever thread is free) gives the
/// bits of one thread, padding rows and all; thread counts outside 1..256 are refused with a clear message.
/// </summary>
[Collection(nameof(SgemmCollection))]
public sealed class ThreadCountTests
{
    /// <summary>
    /// The output layer's pieces are taken by whichever thread is free, so which thread computes what changes from
    /// run to run: the bits must not. One thread on the first path against 1 to 6 threads on every path, each run
    /// twice (the second call reuses the layer's buffers).
    /// </summary>
    [Theory]
    [InlineData(700, 300, 32)]    // several blocks per lane, a partial last slice
    [InlineData(90, 1000, 24)]
    [InlineData(130, 2500, 16)]   // more slices than one piece of each phase
    public void TheOutputLayerGivesTheSameBitsOnOneToSixThreadsOnEveryPath(int rows, int vocab, int hidden)
    {
        var rng = new Rng(3);
        var x = new float[rows * hidden];
        for (int i = 0; i < x.Length; i++) x[i] = 2 * rng.NextFloat() - 1;
        var targets = new int[rows];
        for (int i = 0; i < rows; i++) targets[i] = i % 7 == 3 ? 0 : 1 + rng.NextInt(vocab - 1);   // id 0 is padding
        var loss = new CrossEntropyLoss(ignoreIndex: 0);
        (double Loss, float[] DW, float[] DB, float[] DX) Run(int threads)
        {
            var head = new Linear(hidden, vocab);
            var init = new Rng(5);
            foreach (var p in new[] { head.Weight, head.Bias })
                for (int i = 0; i < p.Length; i++) { p.Value.Data[i] = 0.2f * (2 * init.NextFloat() - 1); p.Grad.Data[i] = 0.01f * i % 3; }
            using var fused = new ChunkedLinearCrossEntropy(threads, chunkRows: 64);
            using var gemm = new SgemmEngine(threads);
            var dx = new float[rows * hidden];
            double l = 0;
            for (int call = 0; call < 2; call++) l += fused.Run(gemm, head, loss, rows, x, targets, backward: true, 1f / rows, dx);
            return (l, head.Weight.Grad.Data, head.Bias.Grad.Data, dx);
        }
        var one = KernelPaths.With(KernelPath.Supported[0], () => Run(1));
        Assert.True(one.Loss > 0 && one.DX.Any(v => v != 0));
        foreach (var path in KernelPath.Supported)
            foreach (int threads in new[] { 1, 2, 3, 4, 6 })
            {
                var got = KernelPaths.With(path, () => Run(threads));
                Assert.Equal(one.Loss, got.Loss);
                foreach (var (name, a, b) in new[] { ("dW", one.DW, got.DW), ("db", one.DB, got.DB), ("dx", one.DX, got.DX) })
                    for (int i = 0; i < a.Length; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]),
                            $"{name}[{i}] on {threads} threads, {path}: {b[i]:R}, on one: {a[i]:R}");
            }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("257")]
    public void BenchAndEvalRefuseThreadCountsOutside1To256(string threads)
    {
        var bench = CliRunner.Run("bench", "--config", "custom", "--vocab", "20", "--emb", "4", "--layers", "1", "--batch", "2",
            "--ctx", "3", "--steps", "1", "--threads", threads);
        Assert.True(bench.ExitCode != 0 && bench.Err.Contains("--threads must be in 1..256") && bench.Err.Contains(threads), bench.ToString());
        Assert.DoesNotContain("   at ", bench.Err);
        var eval = CliRunner.Run("eval", "--model", "nowhere", "--data", "nothing.txt", "--threads", threads);
        Assert.True(eval.ExitCode != 0 && eval.Err.Contains("--threads must be in 1..256"), eval.ToString());
        Assert.Throws<ArgumentException>(() => new SgemmEngine(int.Parse(threads)));
    }
}
