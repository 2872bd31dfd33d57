using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// One GRU layer with PyTorch's nn.GRU semantics and layout (gates r, z, n):
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 - z) ⊙ n + z ⊙ h.
/// </summary>
public sealed class GruLayer : GatedRecurrentLayer
{
    public GruLayer(int index, int inputDim, int hiddenDim, float weightDropout = 0f)
        : base(index, inputDim, hiddenDim, gates: 3, weightDropout) { }

    public override CellType Cell => CellType.Gru;
    protected override int ExtraWidth => 1;
    protected override bool SeparateRecurrentGradient => true;

    protected override void ForwardGates(int batch, Span<float> gates, ReadOnlySpan<float> rec, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra)
    {
        int H = HiddenDim;
        ReadOnlySpan<float> bias = BiasHh.Value.Data;
        for (int b = 0; b < batch; b++)
        {
            var g = gates.Slice(b * 3 * H, 3 * H);
            var rz = g.Slice(0, 2 * H);
            var n = g.Slice(2 * H, H);
            var hn = extra.Slice(b * H, H);
            var r = rec.Slice(b * 3 * H, 3 * H);
            TensorPrimitives.Add(rz, r.Slice(0, 2 * H), rz);
            TensorPrimitives.Add(rz, bias.Slice(0, 2 * H), rz);
            FastMath.Sigmoid(rz, rz);
            TensorPrimitives.Add(r.Slice(2 * H, H), bias.Slice(2 * H, H), hn);
            TensorPrimitives.MultiplyAdd(g.Slice(0, H), hn, n, n);          // n_pre = x part + r ⊙ hn
            FastMath.Tanh(n, n);
            var hRow = h.Slice(b * H, H);
            TensorPrimitives.Subtract(hPrev.Slice(b * H, H), n, hRow);     // h' = n + z ⊙ (h - n)
            TensorPrimitives.MultiplyAdd(g.Slice(H, H), hRow, n, hRow);
        }
    }

    protected override void BackwardGates(int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dGx, Span<float> dGh, Span<float> dhPrev)
    {
        int H = HiddenDim, W = Vector<float>.Count;
        bool direct = !dhPrev.IsEmpty;
        var one = Vector<float>.One;
        for (int b = 0; b < batch; b++)
        {
            var g = gates.Slice(b * 3 * H, 3 * H);
            var gx = dGx.Slice(b * 3 * H, 3 * H);
            var gh = dGh.Slice(b * 3 * H, 3 * H);
            var hn = extra.Slice(b * H, H);
            var hp = hPrev.Slice(b * H, H);
            var d = dh.Slice(b * H, H);
            int j = 0;
            if (Vector.IsHardwareAccelerated)
                for (; j <= H - W; j += W)
                {
                    var r = new Vector<float>(g.Slice(j)); var z = new Vector<float>(g.Slice(H + j)); var n = new Vector<float>(g.Slice(2 * H + j));
                    var dv = new Vector<float>(d.Slice(j));
                    var dan = dv * (one - z) * (one - n * n);
                    var dar = dan * new Vector<float>(hn.Slice(j)) * r * (one - r);
                    var daz = dv * (new Vector<float>(hp.Slice(j)) - n) * z * (one - z);
                    dar.CopyTo(gx.Slice(j)); dar.CopyTo(gh.Slice(j));
                    daz.CopyTo(gx.Slice(H + j)); daz.CopyTo(gh.Slice(H + j));
                    dan.CopyTo(gx.Slice(2 * H + j)); (dan * r).CopyTo(gh.Slice(2 * H + j));
                    if (direct) (new Vector<float>(dhPrev.Slice(b * H + j)) + dv * z).CopyTo(dhPrev.Slice(b * H + j));
                }
            for (; j < H; j++)
            {
                float r = g[j], z = g[H + j], n = g[2 * H + j], dv = d[j];
                float dan = dv * (1 - z) * (1 - n * n);
                float dar = dan * hn[j] * r * (1 - r);
                float daz = dv * (hp[j] - n) * z * (1 - z);
                gx[j] = dar; gh[j] = dar;
                gx[H + j] = daz; gh[H + j] = daz;
                gx[2 * H + j] = dan; gh[2 * H + j] = dan * r;
                if (direct) dhPrev[b * H + j] += dv * z;
            }
        }
    }
}
