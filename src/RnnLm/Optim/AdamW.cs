using System.Runtime.CompilerServices;
using RnnLm.Nn;
using RnnLm.Tensors;

namespace RnnLm.Optim;

/// <summary>
/// AdamW with PyTorch's semantics and defaults: decoupled weight decay p -= lr·wd·p, then the bias-corrected
/// Adam update p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps).
/// With N threads the parameters (all of them end to end) are cut into N ranges of equal size, updated at once
/// (<see cref="WorkerTeam"/>); each element goes through the same operations whatever range it is in and on every
/// kernel path, so the result is the same bits for any thread count and path.
/// </summary>
public sealed class AdamW : Optimizer, IDisposable
{
    /// <summary>Below this many parameters a step runs on the calling thread only.</summary>
    private const long ParallelThreshold = 1 << 16;

    private readonly float[][] _m, _v;
    private readonly long[] _offsets;   // start of each parameter in the concatenation of all of them
    private readonly long _total;
    private readonly WorkerTeam? _team;
    private readonly int _parts;
    private float _b1, _b2, _stepSize, _invSqrtBc2, _eps, _decay;

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    public AdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.01, int threads = 1) : base(parameters, learningRate)
    {
        if (threads < 1 || threads > WorkerTeam.MaxThreads)
            throw new ArgumentException($"threads must be in 1..{WorkerTeam.MaxThreads}, got {threads}.", nameof(threads));
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentException($"beta1 must be in [0, 1), got {beta1}.", nameof(beta1));
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentException($"beta2 must be in [0, 1), got {beta2}.", nameof(beta2));
        Check.Positive(eps, nameof(eps));
        Check.NonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        _m = Params.Select(p => new float[p.Length]).ToArray();
        _v = Params.Select(p => new float[p.Length]).ToArray();
        _offsets = new long[Params.Length];
        for (int i = 0; i < Params.Length; i++) { _offsets[i] = _total; _total += Params[i].Length; }
        _parts = threads > 1 && _total >= ParallelThreshold ? (int)Math.Min(threads, _total / (ParallelThreshold / 2)) : 1;
        if (_parts > 1) _team = new WorkerTeam(_parts, RunPart);
    }

    /// <summary>Part t of <see cref="_parts"/> equal ranges of the concatenated parameters.</summary>
    private void RunPart(int t) => Run(_total * t / _parts, _total * (t + 1) / _parts);

    public override IReadOnlyList<float[]> StateBuffers => _m.Concat(_v).ToArray();

    public override void Step()
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), bc2 = 1 - Math.Pow(Beta2, StepCount);
        _stepSize = (float)(LearningRate / bc1);
        _invSqrtBc2 = (float)(1 / Math.Sqrt(bc2));
        _b1 = (float)Beta1; _b2 = (float)Beta2; _eps = (float)Eps;
        _decay = (float)(1 - LearningRate * WeightDecay);
        if (_team is null) Run(0, _total);
        else _team.Run(_parts);
    }

    /// <summary>Updates elements [from, to) of the concatenated parameters.</summary>
    private void Run(long from, long to)
    {
        for (int i = 0; i < Params.Length; i++)
        {
            var p = Params[i];
            long start = Math.Max(from, _offsets[i]), end = Math.Min(to, _offsets[i] + p.Length);
            if (start >= end) continue;
            int a = (int)(start - _offsets[i]), n = (int)(end - start);
            Update(p.Value.Data.AsSpan(a, n), p.Grad.Data.AsSpan(a, n), _m[i].AsSpan(a, n), _v[i].AsSpan(a, n),
                p.Decay ? _decay : 1f, _b1, _b2, _stepSize, _invSqrtBc2, _eps);
        }
    }

    /// <summary>Nothing to release: the workers are the process's shared ones.</summary>
    public void Dispose() { }

    /// <summary>The one driver of the update: the path's width (<see cref="KernelPath"/>), then narrower ones for the tail.</summary>
    private static unsafe void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float decay, float b1, float b2, float stepSize, float invSqrtBc2, float eps)
    {
        var k = new Constants(decay, b1, b2, stepSize, invSqrtBc2, eps);
        fixed (float* pp = p, pg = g, pm = m, pv = v)
        {
            int n = p.Length, i = 0, w = KernelPath.Set.Width;
            if (w >= 16) i = UpdateBody<Lanes512>(pp, pg, pm, pv, i, n, k);
            if (w >= 8) i = UpdateBody<Lanes256>(pp, pg, pm, pv, i, n, k);
            if (w >= 4) i = UpdateBody<Lanes128>(pp, pg, pm, pv, i, n, k);
            UpdateBody<Lanes1>(pp, pg, pm, pv, i, n, k);
        }
    }

    private readonly record struct Constants(float Decay, float B1, float B2, float StepSize, float InvSqrtBc2, float Eps);

    /// <summary>
    /// The update, written once for every width: m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², p = p·decay -
    /// step·m/(√v·invSqrtBc2 + eps), each operation rounded on its own (no fused multiply-add), the same bits per
    /// lane at any width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int UpdateBody<TV>(float* p, float* g, float* m, float* v, int i, int n, Constants k)
        where TV : unmanaged, ILanes<TV>
    {
        TV b1 = TV.Create(k.B1), b1c = TV.Create(1 - k.B1), b2 = TV.Create(k.B2), b2c = TV.Create(1 - k.B2);
        TV decay = TV.Create(k.Decay), step = TV.Create(k.StepSize), inv = TV.Create(k.InvSqrtBc2), eps = TV.Create(k.Eps);
        for (; i <= n - TV.Count; i += TV.Count)
        {
            var gk = TV.Load(g + i);
            var mk = TV.Add(TV.Multiply(b1, TV.Load(m + i)), TV.Multiply(b1c, gk));
            var vk = TV.Add(TV.Multiply(b2, TV.Load(v + i)), TV.Multiply(b2c, TV.Multiply(gk, gk)));
            TV.Store(mk, m + i);
            TV.Store(vk, v + i);
            var denom = TV.Add(TV.Multiply(TV.Sqrt(vk), inv), eps);
            TV.Store(TV.Subtract(TV.Multiply(TV.Load(p + i), decay), TV.Divide(TV.Multiply(step, mk), denom)), p + i);
        }
        return i;
    }
}
