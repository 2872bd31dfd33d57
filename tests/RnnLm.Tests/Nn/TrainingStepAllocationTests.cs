using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Tests.Nn;

[Collection(SerialCollection.Name)]
public class TrainingStepAllocationTests
{
    [Fact]
    public void SteadyStateTrainingStepAllocatesNothing()
    {
        const int vocab = 1000, batch = 16, steps = 20;
        using var model = new RecurrentLanguageModel(new ModelConfig(vocab, 32, 32, 2), threads: 2);
        Initialization.Apply(model, InitScheme.Book, new Rng(1));
        var opt = new AdamW(model.Parameters());
        var rng = new Rng(3);
        var x = new int[batch * steps];
        var y = new int[batch * steps];
        for (int i = 0; i < x.Length; i++) { x[i] = rng.NextInt(vocab); y[i] = rng.NextInt(vocab); }
        void Step()
        {
            opt.ZeroGrad();
            model.ForwardBackward(x, y, batch, steps);
            GradientClipping.ClipByGlobalNorm(opt.Parameters, 1.0);
            opt.Step();
        }
        Step(); Step(); // warm up: buffers, JIT
        // On the training thread: the process-wide figure also counts the test host's own threads, and the GEMM
        // worker thread has its own allocation test.
        long thread = Allocations.OnThread(Step, repeats: 5);
        Assert.True(thread == 0, $"5 training steps allocated {thread} bytes on the training thread in every round");
    }
}
