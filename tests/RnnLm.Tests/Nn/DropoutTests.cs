using RnnLm.Nn;

namespace RnnLm.Tests.Nn;

public class DropoutTests
{
    [Fact]
    public void FillDrawsTheSameNumbersAsNextULong()
    {
        var a = new Rng(17);
        var b = new Rng(17);
        var bulk = new ulong[5001];
        b.Fill(bulk);
        for (int i = 0; i < bulk.Length; i++) Assert.Equal(a.NextULong(), bulk[i]);
        Assert.Equal(a.GetState(), b.GetState());
    }

    [Theory]
    [InlineData(0.5f, 1000)]
    [InlineData(0.3f, 5000)]   // longer than one chunk of draws
    public void EachElementIsKeptWhenItsDrawIsAboveTheThresholdAndScaled(float p, int length)
    {
        var x = Enumerable.Range(0, length).Select(i => 1f + i % 7).ToArray();
        var dx = Enumerable.Range(0, length).Select(i => 0.5f - i % 3).ToArray();
        var drop = new Dropout(p);
        var rng = new Rng(3);
        var reference = new Rng(3);
        var original = (float[])x.Clone();
        var grad = (float[])dx.Clone();
        drop.Forward(x, rng);
        drop.Backward(dx);
        uint threshold = (uint)(p * 4294967296.0);
        int kept = 0;
        for (int i = 0; i < length; i++)
        {
            bool keep = (uint)(reference.NextULong() >> 32) >= threshold;
            float m = keep ? 1f / (1f - p) : 0f;
            kept += keep ? 1 : 0;
            Assert.Equal(original[i] * m, x[i]);
            Assert.Equal(grad[i] * m, dx[i]);
        }
        Assert.Equal(reference.GetState(), rng.GetState());
        Assert.InRange(kept / (double)length, 1 - p - 0.05, 1 - p + 0.05);
    }
}
