using BenchmarkDotNet.Attributes;
using RnnLm.Tensors;

namespace RnnLm.Benchmarks;

/// <summary>SGEMM at 2048³ and at the language model's output-layer shapes, on 1 and 2 threads, on every kernel path the CPU can run.</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private SgemmEngine _engine = null!;
    private GemmCase _case = null!;
    private float[] _a = [], _b = [], _c = [];

    [ParamsSource(nameof(CaseNames))]
    public string Case { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [ParamsSource(nameof(Paths))]
    public string Kernels { get; set; } = "";

    public static IEnumerable<string> Paths => KernelPath.Supported;

    public static IEnumerable<string> CaseNames => GemmCase.All.Select(c => c.Name);

    [GlobalSetup]
    public void Setup()
    {
        KernelPath.Force(Kernels);
        _case = GemmCase.Find(Case);
        _engine = new SgemmEngine(Threads);
        _a = GemmCase.Random(_case.ALength, 1);
        _b = GemmCase.Random(_case.BLength, 2);
        _c = new float[_case.CLength];
    }

    [Benchmark]
    public void Multiply() =>
        _engine.Multiply(_case.Variant, _case.M, _case.N, _case.K, _a, _case.Lda, _b, _case.Ldb, _c, _case.N, false);

    [GlobalCleanup]
    public void Cleanup() => _engine.Dispose();
}
