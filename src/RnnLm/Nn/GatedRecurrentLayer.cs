using System.Numerics.Tensors;
using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// The frame that GRU and LSTM share, with PyTorch's parameters: weight_ih_l{k} [G·H, in], weight_hh_l{k} [G·H, H],
/// bias_ih_l{k} and bias_hh_l{k} [G·H], the G gates stacked along the first axis.
/// Forward: the input projection of every step at once (one product, x·W_ihᵀ + b_ih), then per step one recurrent
/// product for all gates (h·W_hhᵀ) and one fused pass of the cell (<see cref="ForwardGates"/>). Backward through
/// time the same way: per step the cell's pass (<see cref="BackwardGates"/>) and one product for dh_{t-1}, then
/// the weight gradients of the whole sequence as single products. Buffers grow to the largest batch and are reused.
/// </summary>
public abstract class GatedRecurrentLayer : RecurrentLayer
{
    // W_hh packed once per pass: transposed for forward (h·W_hhᵀ), as is for backward (dG·W_hh).
    private readonly PackedMatrix _whhT = new(), _whh = new();
    private readonly Dropout _weightDrop;
    private float[] _whhDropped = [], _dWhhDropped = [];
    private bool _dropped;
    // Per pass, time-major: gate values [T·B, G·H], the cell's extra values [T·B, E·H], c [T·B, H] (two-tensor state).
    private float[] _gates = [], _extra = [], _c = [];
    private float[] _dGx = [], _dGh = [];
    private float[] _rec = [], _zeros = [], _dc = [];
    private float[] _step = [];  // one step's gates, recurrent product and extra values (Step without scratch)

    protected GatedRecurrentLayer(int index, int inputDim, int hiddenDim, int gates, float weightDropout)
        : base(inputDim, hiddenDim)
    {
        if (index < 0) throw new ArgumentException($"index must be 0 or more, got {index}.", nameof(index));
        Gates = gates;
        _weightDrop = new Dropout(weightDropout);
        WeightIh = AddParameter($"weight_ih_l{index}", new Parameter(gates * hiddenDim, inputDim));
        WeightHh = AddParameter($"weight_hh_l{index}", new Parameter(gates * hiddenDim, hiddenDim));
        BiasIh = AddParameter($"bias_ih_l{index}", new Parameter(gates * hiddenDim));
        BiasHh = AddParameter($"bias_hh_l{index}", new Parameter(gates * hiddenDim));
    }

    /// <summary>The number of gates G.</summary>
    public int Gates { get; }
    public Parameter WeightIh { get; }
    public Parameter WeightHh { get; }
    public Parameter BiasIh { get; }
    public Parameter BiasHh { get; }

    public override float WeightDropout => _weightDrop.P;

    /// <summary>How many [B, H] values per step the cell keeps for backward beside the gates (GRU: W_hn h + b_hn; LSTM: tanh c).</summary>
    protected abstract int ExtraWidth { get; }

    /// <summary>Whether the input and recurrent sides get different pre-activation gradients (GRU's n gate).</summary>
    protected virtual bool SeparateRecurrentGradient => false;

    /// <summary>
    /// The cell's forward for one step of a batch. gates [B, G·H]: x·W_ihᵀ + b_ih on entry, the gate values on exit;
    /// rec [B, G·H]: h_{t-1}·W_hhᵀ (no bias); hPrev, cPrev [B, H] (cPrev empty for one-tensor states); writes h and c
    /// [B, H] (c empty for one-tensor states) and extra [B, ExtraWidth·H]. h may be hPrev and c may be cPrev.
    /// </summary>
    protected abstract void ForwardGates(int batch, Span<float> gates, ReadOnlySpan<float> rec, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra);

    /// <summary>
    /// The cell's backward for one step. dh: dLoss/dh_t; dc: dLoss/dc_t on entry, dLoss/dc_{t-1} on exit (two-tensor
    /// states). Writes the pre-activation gradients of the input side into dGx and of the recurrent side into dGh (the
    /// same span unless SeparateRecurrentGradient), and adds any direct dependence of h_t on h_{t-1} into dhPrev
    /// (empty: not wanted).
    /// </summary>
    protected abstract void BackwardGates(int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dGx, Span<float> dGh, Span<float> dhPrev);

    private int GH => Gates * HiddenDim;

    /// <summary>The recurrent matrix of the last forward pass: W_hh, or W_hh·mask under weight drop.</summary>
    private ReadOnlySpan<float> RecurrentWeight =>
        _dropped ? _whhDropped.AsSpan(0, GH * HiddenDim) : WeightHh.Value.Data.AsSpan(0, GH * HiddenDim);

    private void Reserve(int rows, int batch)
    {
        int H = HiddenDim;
        Grow(ref _gates, (long)rows * GH);
        Grow(ref _extra, (long)rows * ExtraWidth * H);
        if (StateCount == 2) Grow(ref _c, (long)rows * H);
        Grow(ref _dGx, (long)rows * GH);
        if (SeparateRecurrentGradient) Grow(ref _dGh, (long)rows * GH);
        Grow(ref _rec, (long)batch * GH);
        Grow(ref _zeros, (long)batch * H);
        Grow(ref _dc, (long)batch * H);
    }

    public override void Forward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> state0,
        Span<float> h, Span<float> stateN, Rng? weightDropRng = null)
    {
        int H = HiddenDim, In = InputDim, G = GH, rows = steps * batch, stepLen = batch * H;
        Check.Length(x, (long)rows * In, nameof(x));
        Check.Length(h, (long)rows * H, nameof(h));
        if (!state0.IsEmpty) Check.Length(state0, StateLength(batch), nameof(state0));
        if (!stateN.IsEmpty) Check.Length(stateN, StateLength(batch), nameof(stateN));
        Reserve(rows, batch);
        bool two = StateCount == 2;
        var zeros = _zeros.AsSpan(0, stepLen);
        zeros.Clear();

        var gates = _gates.AsSpan(0, rows * G);
        gemm.Multiply(GemmVariant.NT, rows, G, In, x, In, WeightIh.Value.Data, In, gates, G, accumulate: false);
        Kernels.AddRowVector(gates, rows, G, BiasIh.Value.Data);

        _dropped = weightDropRng != null && !_weightDrop.IsIdentity;
        if (_dropped)
        {
            Grow(ref _whhDropped, (long)G * H);
            Grow(ref _dWhhDropped, (long)G * H);
            WeightHh.Value.Data.AsSpan(0, G * H).CopyTo(_whhDropped);
            _weightDrop.Forward(_whhDropped.AsSpan(0, G * H), weightDropRng!);
        }
        bool anyRecurrent = steps > 1 || !state0.IsEmpty;
        if (anyRecurrent) _whhT.Pack(transposed: true, G, H, RecurrentWeight, H);

        var rec = _rec.AsSpan(0, batch * G);
        var extraAll = _extra.AsSpan(0, rows * ExtraWidth * H);
        for (int t = 0; t < steps; t++)
        {
            ReadOnlySpan<float> hPrev = t > 0 ? h.Slice((t - 1) * stepLen, stepLen) : state0.IsEmpty ? zeros : state0.Slice(0, stepLen);
            ReadOnlySpan<float> cPrev = !two ? default
                : t > 0 ? _c.AsSpan((t - 1) * stepLen, stepLen) : state0.IsEmpty ? zeros : state0.Slice(stepLen, stepLen);
            if (t > 0 || !state0.IsEmpty) gemm.Multiply(GemmVariant.NT, batch, hPrev, H, _whhT, rec, G, accumulate: false);
            else rec.Clear();
            ForwardGates(batch, gates.Slice(t * batch * G, batch * G), rec, hPrev, cPrev, h.Slice(t * stepLen, stepLen),
                two ? _c.AsSpan(t * stepLen, stepLen) : default, extraAll.Slice(t * batch * ExtraWidth * H, batch * ExtraWidth * H));
        }
        if (!stateN.IsEmpty)
        {
            h.Slice(rows * H - stepLen, stepLen).CopyTo(stateN);
            if (two) _c.AsSpan(rows * H - stepLen, stepLen).CopyTo(stateN.Slice(stepLen));
        }
    }

    public override void Backward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> state0,
        ReadOnlySpan<float> h, Span<float> dh, Span<float> dx, Span<float> dState0)
    {
        int H = HiddenDim, In = InputDim, G = GH, rows = steps * batch, stepLen = batch * H, gStep = batch * G;
        Check.Length(x, (long)rows * In, nameof(x));
        Check.Length(h, (long)rows * H, nameof(h));
        Check.Length(dh, (long)rows * H, nameof(dh));
        if (!state0.IsEmpty) Check.Length(state0, StateLength(batch), nameof(state0));
        if (!dx.IsEmpty) Check.Length(dx, (long)rows * In, nameof(dx));
        if (!dState0.IsEmpty) Check.Length(dState0, StateLength(batch), nameof(dState0));
        if (_gates.Length < (long)rows * G) throw new InvalidOperationException("Backward before Forward.");
        bool two = StateCount == 2;
        var zeros = _zeros.AsSpan(0, stepLen);
        var dc = _dc.AsSpan(0, stepLen);
        dc.Clear();
        var dGx = _dGx.AsSpan(0, rows * G);
        var dGh = SeparateRecurrentGradient ? _dGh.AsSpan(0, rows * G) : dGx;
        var gates = _gates.AsSpan(0, rows * G);
        var extraAll = _extra.AsSpan(0, rows * ExtraWidth * H);
        if (steps > 1 || !dState0.IsEmpty) _whh.Pack(transposed: false, H, G, RecurrentWeight, H);
        if (!dState0.IsEmpty) dState0.Clear();

        for (int t = steps - 1; t >= 0; t--)
        {
            ReadOnlySpan<float> hPrev = t > 0 ? h.Slice((t - 1) * stepLen, stepLen) : state0.IsEmpty ? zeros : state0.Slice(0, stepLen);
            ReadOnlySpan<float> cPrev = !two ? default
                : t > 0 ? _c.AsSpan((t - 1) * stepLen, stepLen) : state0.IsEmpty ? zeros : state0.Slice(stepLen, stepLen);
            Span<float> dhPrev = t > 0 ? dh.Slice((t - 1) * stepLen, stepLen) : dState0.IsEmpty ? default : dState0.Slice(0, stepLen);
            BackwardGates(batch, gates.Slice(t * gStep, gStep), extraAll.Slice(t * batch * ExtraWidth * H, batch * ExtraWidth * H),
                hPrev, cPrev, dh.Slice(t * stepLen, stepLen), two ? dc : default, dGx.Slice(t * gStep, gStep), dGh.Slice(t * gStep, gStep), dhPrev);
            if (!dhPrev.IsEmpty)
                gemm.Multiply(GemmVariant.NN, batch, dGh.Slice(t * gStep, gStep), G, _whh, dhPrev, H, accumulate: true);
        }
        if (two && !dState0.IsEmpty) dc.CopyTo(dState0.Slice(stepLen));

        gemm.Multiply(GemmVariant.TN, G, In, rows, dGx, G, x, In, WeightIh.Grad.Data, In, accumulate: true);
        // With weight drop the products give dLoss/d(W_hh·mask); W_hh's gradient is that times the mask.
        var dWhh = _dropped ? _dWhhDropped.AsSpan(0, G * H) : WeightHh.Grad.Data.AsSpan(0, G * H);
        if (_dropped) dWhh.Clear();
        if (steps > 1)
            gemm.Multiply(GemmVariant.TN, G, H, rows - batch, dGh.Slice(gStep), G, h.Slice(0, rows * H - stepLen), H, dWhh, H, accumulate: true);
        if (!state0.IsEmpty)
            gemm.Multiply(GemmVariant.TN, G, H, batch, dGh.Slice(0, gStep), G, state0.Slice(0, stepLen), H, dWhh, H, accumulate: true);
        if (_dropped)
        {
            _weightDrop.Backward(dWhh);
            TensorPrimitives.Add(WeightHh.Grad.Data.AsSpan(0, G * H), dWhh, WeightHh.Grad.Data.AsSpan(0, G * H));
        }
        Kernels.AddColumnSums(dGx, rows, G, BiasIh.Grad.Data);
        Kernels.AddColumnSums(dGh, rows, G, BiasHh.Grad.Data);
        if (!dx.IsEmpty)
            gemm.Multiply(GemmVariant.NN, rows, In, G, dGx, G, WeightIh.Value.Data, In, dx, In, accumulate: false);
    }

    public override void Step(SgemmEngine gemm, int batch, ReadOnlySpan<float> x, Span<float> state)
    {
        Grow(ref _step, StepScratchLength(batch));
        Step(gemm, batch, x, state, _step);
    }

    /// <inheritdoc/>
    public override void Step(SgemmEngine gemm, int batch, ReadOnlySpan<float> x, Span<float> state, Span<float> scratch)
    {
        int H = HiddenDim, In = InputDim, G = GH, stepLen = batch * H;
        Check.Length(x, (long)batch * In, nameof(x));
        Check.Length(state, StateLength(batch), nameof(state));
        Check.AtLeast(scratch, StepScratchLength(batch), nameof(scratch));
        var gates = scratch.Slice(0, batch * G);
        var rec = scratch.Slice(batch * G, batch * G);
        var extra = scratch.Slice(2 * batch * G, batch * ExtraWidth * H);
        gemm.Multiply(GemmVariant.NT, batch, G, In, x, In, WeightIh.Value.Data, In, gates, G, accumulate: false);
        Kernels.AddRowVector(gates, batch, G, BiasIh.Value.Data);
        var hState = state.Slice(0, stepLen);
        gemm.Multiply(GemmVariant.NT, batch, G, H, hState, H, WeightHh.Value.Data, H, rec, G, accumulate: false);
        var cState = StateCount == 2 ? state.Slice(stepLen, stepLen) : default;
        ForwardGates(batch, gates, rec, hState, cState, hState, cState, extra);
    }

    /// <inheritdoc/>
    public override int StepScratchLength(int batch) => batch * (2 * GH + ExtraWidth * HiddenDim);

    public override double TrainingFlops(double rows) => 3 * 2 * rows * (InputDim + HiddenDim) * (double)GH;

    public override void Dispose()
    {
        _whhT.Dispose();
        _whh.Dispose();
    }
}
