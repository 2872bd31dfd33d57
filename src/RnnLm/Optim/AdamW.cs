using System.Numerics;
using System.Runtime.InteropServices;
using RnnLm.Nn;
using RnnLm.Tensors;

namespace RnnLm.Optim;

/// <summary>
/// AdamW with PyTorch's semantics and defaults: decoupled weight decay p -= lr·wd·p, then the bias-corrected
/// Adam update p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps).
/// With two threads the parameters are cut into two halves of equal size, the second updated on a worker thread;
/// each element goes through the same operations either way, so the result is the same bits.
/// </summary>
public sealed class AdamW : Optimizer, IDisposable
{
    /// <summary>Below this many parameters a step runs on the calling thread only.</summary>
    private const long ParallelThreshold = 1 << 16;

    private readonly float[][] _m, _v;
    private readonly long[] _offsets;   // start of each parameter in the concatenation of all of them
    private readonly long _total, _split;
    private readonly LaneWorker? _worker;
    private readonly Action _runSecondHalf;
    private float _b1, _b2, _stepSize, _invSqrtBc2, _eps, _decay;

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    public AdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.01, int threads = 1) : base(parameters, learningRate)
    {
        Check.Positive(threads, nameof(threads));
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentException($"beta1 must be in [0, 1), got {beta1}.", nameof(beta1));
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentException($"beta2 must be in [0, 1), got {beta2}.", nameof(beta2));
        Check.Positive(eps, nameof(eps));
        Check.NonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        _m = Params.Select(p => new float[p.Length]).ToArray();
        _v = Params.Select(p => new float[p.Length]).ToArray();
        _offsets = new long[Params.Length];
        for (int i = 0; i < Params.Length; i++) { _offsets[i] = _total; _total += Params[i].Length; }
        _split = SplitPoint();
        _runSecondHalf = () => Run(_split, _total);
        if (threads > 1 && _total >= ParallelThreshold) _worker = LaneWorker.Shared(1);
    }

    /// <summary>
    /// The middle of the parameters, moved down so that it falls on a whole vector from the start of its
    /// parameter: both halves then take the vector and scalar paths at the same elements as one thread does.
    /// </summary>
    private long SplitPoint()
    {
        long half = _total / 2;
        for (int i = Params.Length - 1; i >= 0; i--)
            if (_offsets[i] <= half)
                return _offsets[i] + (half - _offsets[i]) / Vector<float>.Count * Vector<float>.Count;
        return 0;
    }

    public override IReadOnlyList<float[]> StateBuffers => _m.Concat(_v).ToArray();

    public override void Step()
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), bc2 = 1 - Math.Pow(Beta2, StepCount);
        _stepSize = (float)(LearningRate / bc1);
        _invSqrtBc2 = (float)(1 / Math.Sqrt(bc2));
        _b1 = (float)Beta1; _b2 = (float)Beta2; _eps = (float)Eps;
        _decay = (float)(1 - LearningRate * WeightDecay);
        if (_worker == null)
        {
            Run(0, _total);
            return;
        }
        if (!_worker.TryStart(_runSecondHalf))
        {
            Run(0, _total);
            return;
        }
        try { Run(0, _split); }
        finally { _worker.Wait(); }
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

    public void Dispose() => _worker?.Dispose();

    private static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float decay, float b1, float b2, float stepSize, float invSqrtBc2, float eps)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var pv = MemoryMarshal.Cast<float, Vector<float>>(p);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(g);
            var mv = MemoryMarshal.Cast<float, Vector<float>>(m);
            var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
            var vb1 = new Vector<float>(b1); var vb1c = new Vector<float>(1 - b1);
            var vb2 = new Vector<float>(b2); var vb2c = new Vector<float>(1 - b2);
            var vDecay = new Vector<float>(decay); var vStep = new Vector<float>(stepSize);
            var vInv = new Vector<float>(invSqrtBc2); var vEps = new Vector<float>(eps);
            for (int k = 0; k < pv.Length; k++)
            {
                var gk = gv[k];
                var mk = vb1 * mv[k] + vb1c * gk;
                var vk = vb2 * vv[k] + vb2c * (gk * gk);
                mv[k] = mk; vv[k] = vk;
                var denom = Vector.SquareRoot(vk) * vInv + vEps;
                pv[k] = pv[k] * vDecay - vStep * mk / denom;
            }
            i = pv.Length * Vector<float>.Count;
        }
        for (; i < p.Length; i++)
        {
            float gk = g[i];
            float mk = b1 * m[i] + (1 - b1) * gk;
            float vk = b2 * v[i] + (1 - b2) * (gk * gk);
            m[i] = mk; v[i] = vk;
            float denom = MathF.Sqrt(vk) * invSqrtBc2 + eps;
            p[i] = p[i] * decay - stepSize * mk / denom;
        }
    }
}
