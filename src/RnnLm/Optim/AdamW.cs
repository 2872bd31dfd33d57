using System.Numerics;
using System.Runtime.InteropServices;
using RnnLm.Nn;

namespace RnnLm.Optim;

/// <summary>
/// AdamW with PyTorch's semantics and defaults: decoupled weight decay p -= lr·wd·p, then the bias-corrected
/// Adam update p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps).
/// </summary>
public sealed class AdamW : Optimizer
{
    private readonly float[][] _m, _v;

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    public AdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.01) : base(parameters, learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentException($"beta1 must be in [0, 1), got {beta1}.", nameof(beta1));
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentException($"beta2 must be in [0, 1), got {beta2}.", nameof(beta2));
        Check.Positive(eps, nameof(eps));
        Check.NonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        _m = Params.Select(p => new float[p.Length]).ToArray();
        _v = Params.Select(p => new float[p.Length]).ToArray();
    }

    public override IReadOnlyList<float[]> StateBuffers => _m.Concat(_v).ToArray();

    public override void Step()
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), bc2 = 1 - Math.Pow(Beta2, StepCount);
        float stepSize = (float)(LearningRate / bc1);
        float invSqrtBc2 = (float)(1 / Math.Sqrt(bc2));
        for (int i = 0; i < Params.Length; i++)
        {
            var p = Params[i];
            float decay = p.Decay ? (float)(1 - LearningRate * WeightDecay) : 1f;
            Update(p.Value.Data, p.Grad.Data, _m[i], _v[i], decay, (float)Beta1, (float)Beta2, stepSize, invSqrtBc2, (float)Eps);
        }
    }

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
