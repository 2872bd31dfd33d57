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

    [Fact]
    public void WeightDropChangesTrainingPassesOnlyAndLeavesTheWeightsAlone()
    {
        const int vocab = 20, batch = 3, steps = 5;
        var config = new ModelConfig(vocab, 6, 10, 2);
        using var plain = new RecurrentLanguageModel(config);
        using var dropped = new RecurrentLanguageModel(config with { WeightDropout = 0.5f });
        Initialization.Apply(plain, InitScheme.Book, new Rng(4));
        Initialization.Apply(dropped, InitScheme.Book, new Rng(4));
        var inputs = Enumerable.Range(0, batch * steps).Select(i => 1 + i % (vocab - 1)).ToArray();
        var targets = inputs.Select(i => 1 + i % (vocab - 2)).ToArray();
        double Loss(RecurrentLanguageModel m) => m.LossSum(inputs, targets, batch, steps, out _);
        var uhBefore = ((ElmanRnnUnit)dropped.Rnn.Layers[1]).Uh.Value.Data.ToArray();

        // Training mode: each pass draws a new mask, so the loss differs from the plain model's and between passes.
        double a = Loss(dropped), b = Loss(dropped);
        Assert.NotEqual(Loss(plain), a);
        Assert.NotEqual(a, b);
        // Evaluation: no mask, the same function as without weight drop.
        plain.Eval();
        dropped.Eval();
        Assert.Equal(Loss(plain), Loss(dropped));
        Assert.Equal(uhBefore, ((ElmanRnnUnit)dropped.Rnn.Layers[1]).Uh.Value.Data);
        Assert.Throws<ArgumentException>(() => (config with { WeightDropout = 1f }).Validate());
    }
}
