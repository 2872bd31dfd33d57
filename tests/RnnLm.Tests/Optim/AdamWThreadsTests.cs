using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Tests.Optim;

public sealed class AdamWThreadsTests
{
    /// <summary>Parameters of odd sizes (the split falls inside one, away from a vector boundary), one without decay.</summary>
    private static Parameter[] MakeParameters(int seed)
    {
        int[] sizes = [70_001, 3, 129_999, 17];
        var rng = new Random(seed);
        var ps = new Parameter[sizes.Length];
        for (int i = 0; i < sizes.Length; i++)
        {
            ps[i] = new Parameter(sizes[i]) { Decay = i != 1 };
            for (int k = 0; k < sizes[i]; k++) ps[i].Value.Data[k] = (float)(rng.NextDouble() - 0.5);
        }
        return ps;
    }

    private static void FillGradients(Parameter[] ps, Random rng)
    {
        foreach (var p in ps)
            for (int k = 0; k < p.Length; k++) p.Grad.Data[k] = (float)(rng.NextDouble() - 0.5) * 0.1f;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void SeveralThreadsGiveTheSameBitsAsOne(int threads)
    {
        var one = MakeParameters(5);
        var two = MakeParameters(5);
        using var opt1 = new AdamW(one, 3e-3, weightDecay: 0.1);
        using var opt2 = new AdamW(two, 3e-3, weightDecay: 0.1, threads: threads);
        var g1 = new Random(9);
        var g2 = new Random(9);
        for (int step = 0; step < 4; step++)
        {
            FillGradients(one, g1);
            FillGradients(two, g2);
            opt1.Step();
            opt2.Step();
        }
        for (int i = 0; i < one.Length; i++)
            for (int k = 0; k < one[i].Length; k++)
                if (BitConverter.SingleToInt32Bits(one[i].Value.Data[k]) != BitConverter.SingleToInt32Bits(two[i].Value.Data[k]))
                    Assert.Fail($"parameter {i}, element {k}: {one[i].Value.Data[k]:R} on 1 thread, {two[i].Value.Data[k]:R} on {threads}");
        // The update did something: the weights moved from where they started.
        var start = MakeParameters(5);
        Assert.NotEqual(start[2].Value.Data[129_998], two[2].Value.Data[129_998]);
        Assert.Equal(start[1].Value.Data.Length, two[1].Value.Data.Length);
    }
}
