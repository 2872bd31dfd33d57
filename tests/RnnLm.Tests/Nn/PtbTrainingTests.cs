using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Tests.Nn;

public class PtbTrainingTests
{
    [Fact]
    public void AShortRunOnPennTreebankBringsTheLossWellBelowLnV()
    {
        string text = CorpusReader.ReadText(SharedFolder.Combine("data", "ptb", "ptb.train.txt"));
        var tokenizer = WordTokenizer.Build(text);
        var ids = tokenizer.Encode(text);
        Assert.InRange(tokenizer.VocabSize, 10000, 10003);
        const int batch = 32, ctx = 35, steps = 150;
        var data = new StreamDataset(ids[..(batch * ctx * steps + 1)], batch, ctx);
        using var model = new RecurrentLanguageModel(new ModelConfig(tokenizer.VocabSize, 128, 128, 1), threads: 2);
        Initialization.Apply(model, InitScheme.SmallUniform, new Rng(1), 0.05f);
        var opt = new AdamW(model.Parameters(), 3e-3);
        var state = new float[model.StateLength(batch)];
        var next = new float[state.Length];
        var losses = new List<float>();
        foreach (var b in new DataLoader(data).Batches(0))
        {
            opt.ZeroGrad();
            losses.Add(model.ForwardBackward(b.InputSpan, b.TargetSpan, b.BatchSize, b.SeqLen, b.ResetState ? default : state, next));
            GradientClipping.ClipByGlobalNorm(opt.Parameters, 1.0);
            opt.Step();
            (state, next) = (next, state);
        }
        double lnV = Math.Log(tokenizer.VocabSize);
        double first = losses.Take(5).Average(), last = losses.TakeLast(20).Average();
        Assert.InRange(first, lnV - 0.5, lnV + 0.5);
        Assert.True(last < lnV - 2.0, $"after {losses.Count} steps the loss is {last:F3}; ln V = {lnV:F3}");
    }
}
