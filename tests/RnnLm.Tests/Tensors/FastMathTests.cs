using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

public class FastMathTests
{
    [Fact]
    public void ExpIsWithinTwoUlpOfTheExactValue()
    {
        var x = new float[200_003];
        for (int i = 0; i < x.Length; i++) x[i] = -87f + 175f * i / (x.Length - 1);
        var y = new float[x.Length];
        FastMath.Exp(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = Math.Exp(x[i]);
            Assert.True(Math.Abs(y[i] - exact) <= 2.5e-7 * exact, $"exp({x[i]}) = {y[i]}, exact {exact}");
        }
    }

    [Fact]
    public void TanhIsAccurateEverywhereIncludingNearZeroAndSaturation()
    {
        var x = new float[100_001];
        for (int i = 0; i < x.Length; i++) x[i] = -12f + 24f * i / (x.Length - 1);
        x[50_000] = 0f; x[1] = 1e-6f; x[2] = -3e-5f; x[3] = 0.0624f; x[4] = 0.0626f;
        var y = new float[x.Length];
        FastMath.Tanh(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = Math.Tanh(x[i]);
            Assert.True(Math.Abs(y[i] - exact) <= 2e-7 + 2e-7 * Math.Abs(exact), $"tanh({x[i]}) = {y[i]}, exact {exact}");
        }
    }

    [Theory]
    [InlineData(65, 3)]
    [InlineData(10_001, 9_999)]
    [InlineData(13, 0)]
    public void SoftmaxRowMatchesADoubleReference(int n, int target)
    {
        var rng = new Rng(4);
        var logits = new float[n];
        var bias = new float[n];
        for (int i = 0; i < n; i++) { logits[i] = 8 * (rng.NextFloat() - 0.5f); bias[i] = rng.NextFloat() - 0.5f; }
        var row = (float[])logits.Clone();
        var dbias = new float[n];
        dbias[1] = 0.25f;
        double loss = OutputRow.SoftmaxCrossEntropyRow(row, bias, target, gradient: true, scale: 0.5f, dbias);

        double max = double.NegativeInfinity;
        for (int i = 0; i < n; i++) max = Math.Max(max, (double)logits[i] + bias[i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.Exp(logits[i] + bias[i] - max);
        Assert.Equal(Math.Log(sum) + max - (logits[target] + bias[target]), loss, 5);
        for (int i = 0; i < n; i++)
        {
            double g = 0.5 * (Math.Exp(logits[i] + bias[i] - max) / sum - (i == target ? 1 : 0));
            Assert.True(Math.Abs(row[i] - g) <= 1e-6 + 1e-5 * Math.Abs(g), $"grad[{i}] = {row[i]}, expected {g}");
            double db = g + (i == 1 ? 0.25 : 0);
            Assert.True(Math.Abs(dbias[i] - db) <= 1e-6 + 1e-5 * Math.Abs(db), $"dbias[{i}] = {dbias[i]}, expected {db}");
        }
    }
}
