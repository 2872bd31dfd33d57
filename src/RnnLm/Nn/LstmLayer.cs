using System.Numerics;
using System.Numerics.Tensors;
using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// One LSTM layer with PyTorch's nn.LSTM semantics and layout (gates i, f, g, o): with a = W_ih x + b_ih + W_hh h + b_hh,
/// i, f, o = σ(a_i), σ(a_f), σ(a_o), g = tanh(a_g), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). The state is h then c.
/// </summary>
public sealed class LstmLayer : GatedRecurrentLayer
{
    public LstmLayer(int index, int inputDim, int hiddenDim, float weightDropout = 0f)
        : base(index, inputDim, hiddenDim, gates: 4, weightDropout) { }

    public override CellType Cell => CellType.Lstm;
    public override int StateCount => 2;
    protected override int ExtraWidth => 1;

    protected override void ForwardGates(int batch, Span<float> gates, ReadOnlySpan<float> rec, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra)
    {
        int H = HiddenDim;
        ReadOnlySpan<float> bias = BiasHh.Value.Data;
        for (int b = 0; b < batch; b++)
        {
            var a = gates.Slice(b * 4 * H, 4 * H);
            TensorPrimitives.Add(a, rec.Slice(b * 4 * H, 4 * H), a);
            TensorPrimitives.Add(a, bias, a);
            FastMath.Sigmoid(a.Slice(0, 2 * H), a.Slice(0, 2 * H));
            FastMath.Tanh(a.Slice(2 * H, H), a.Slice(2 * H, H));
            FastMath.Sigmoid(a.Slice(3 * H, H), a.Slice(3 * H, H));
            var tc = extra.Slice(b * H, H);
            var cRow = c.Slice(b * H, H);
            TensorPrimitives.Multiply(a.Slice(0, H), a.Slice(2 * H, H), tc);       // i ⊙ g
            TensorPrimitives.MultiplyAdd(a.Slice(H, H), cPrev.Slice(b * H, H), tc, cRow);
            FastMath.Tanh(cRow, tc);
            TensorPrimitives.Multiply(a.Slice(3 * H, H), tc, h.Slice(b * H, H));
        }
    }

    protected override void BackwardGates(int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dGx, Span<float> dGh, Span<float> dhPrev)
    {
        int H = HiddenDim, W = Vector<float>.Count;
        var one = Vector<float>.One;
        for (int b = 0; b < batch; b++)
        {
            var a = gates.Slice(b * 4 * H, 4 * H);
            var da = dGx.Slice(b * 4 * H, 4 * H);
            var tc = extra.Slice(b * H, H);
            var cp = cPrev.Slice(b * H, H);
            var d = dh.Slice(b * H, H);
            var dcRow = dc.Slice(b * H, H);
            int j = 0;
            if (Vector.IsHardwareAccelerated)
                for (; j <= H - W; j += W)
                {
                    var i = new Vector<float>(a.Slice(j)); var f = new Vector<float>(a.Slice(H + j));
                    var g = new Vector<float>(a.Slice(2 * H + j)); var o = new Vector<float>(a.Slice(3 * H + j));
                    var t = new Vector<float>(tc.Slice(j)); var dv = new Vector<float>(d.Slice(j));
                    var dcv = new Vector<float>(dcRow.Slice(j)) + dv * o * (one - t * t);
                    (dcv * g * i * (one - i)).CopyTo(da.Slice(j));
                    (dcv * new Vector<float>(cp.Slice(j)) * f * (one - f)).CopyTo(da.Slice(H + j));
                    (dcv * i * (one - g * g)).CopyTo(da.Slice(2 * H + j));
                    (dv * t * o * (one - o)).CopyTo(da.Slice(3 * H + j));
                    (dcv * f).CopyTo(dcRow.Slice(j));
                }
            for (; j < H; j++)
            {
                float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], t = tc[j], dv = d[j];
                float dcv = dcRow[j] + dv * o * (1 - t * t);
                da[j] = dcv * g * i * (1 - i);
                da[H + j] = dcv * cp[j] * f * (1 - f);
                da[2 * H + j] = dcv * i * (1 - g * g);
                da[3 * H + j] = dv * t * o * (1 - o);
                dcRow[j] = dcv * f;
            }
        }
    }
}
