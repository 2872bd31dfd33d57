using BenchmarkDotNet.Attributes;
using RnnLm.Nn;
using RnnLm.Tensors;

namespace RnnLm.Benchmarks;

/// <summary>
/// The fused output layer and loss (ChunkedLinearCrossEntropy.Run, forward and backward) at the book shape
/// (rows 3840 = 128·30, hidden 128, vocabulary 32011) and the ptb shape (rows 2240 = 64·35, hidden 256,
/// vocabulary 10000), on 1 and 2 threads.
/// </summary>
[MemoryDiagnoser]
public class ClassifierBenchmarks
{
    private ChunkedLinearCrossEntropy _head = null!;
    private SgemmEngine _gemm = null!;
    private Linear _fc = null!;
    private CrossEntropyLoss _loss = null!;
    private float[] _x = [], _dx = [];
    private int[] _targets = [];
    private int _rows;

    [Params("book", "ptb")]
    public string Shape { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (int rows, int hidden, int vocab) = Shape switch
        {
            "book" => (3840, 128, 32011),
            "ptb" => (2240, 256, 10000),
            _ => throw new ArgumentException($"unknown shape '{Shape}'."),
        };
        _rows = rows;
        _fc = new Linear(hidden, vocab);
        var rng = new Rng(7);
        Initialization.XavierUniform(_fc.Weight, rng);
        Initialization.Uniform(_fc.Bias.Value.Data, -0.1f, 0.1f, rng);
        _x = GemmCase.Random(rows * hidden, 3);
        _dx = new float[rows * hidden];
        _targets = new int[rows];
        for (int i = 0; i < rows; i++) _targets[i] = 1 + rng.NextInt(vocab - 1);
        _loss = new CrossEntropyLoss(0);
        _gemm = new SgemmEngine(Threads);
        _head = new ChunkedLinearCrossEntropy(Threads);
    }

    /// <summary>Forward and backward: the logits, softmax and loss, and the weight, bias and input gradients.</summary>
    [Benchmark]
    public double ForwardBackward() =>
        _head.Run(_gemm, _fc, _loss, _rows, _x, _targets, backward: true, 1f / _rows, _dx);

    [GlobalCleanup]
    public void Cleanup()
    {
        _head.Dispose();
        _gemm.Dispose();
    }
}
