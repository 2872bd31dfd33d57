using System.Numerics.Tensors;
using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// One Elman layer, run over a whole sequence: h_t = tanh(x_t·Wh + h_{t-1}·Uh + b), with Wh [inputDim, hiddenDim],
/// Uh [hiddenDim, hiddenDim] and b [hiddenDim] shared across time steps (the book's names and layout). Despite the
/// name (the design notes'), it is the whole layer over time, not one step; generation's single step is
/// <see cref="Step(SgemmEngine, int, ReadOnlySpan{float}, Span{float})"/>.
/// </summary>
public sealed class ElmanRnnUnit : RecurrentLayer
{
    // Uh packed for the kernel once per pass (as Uh forward, as Uhᵀ backward) instead of once per time step.
    private readonly PackedMatrix _uh = new(), _uhT = new();
    // Weight drop: the mask of the last training forward pass (0 or 1/(1-p)), Uh·mask, and dLoss/d(Uh·mask).
    private readonly Dropout _weightDrop;
    private float[] _uhDropped = [], _dUhDropped = [];
    private bool _dropped;
    private float[] _step = [];

    public override CellType Cell => CellType.Elman;
    public Parameter Wh { get; }
    public Parameter Uh { get; }
    /// <summary>The bias b [hiddenDim] (named Bias, not B, which is the batch size elsewhere).</summary>
    public Parameter Bias { get; }

    /// <summary>The probability of dropping each element of Uh in training (DropConnect; 0: off).</summary>
    public override float WeightDropout => _weightDrop.P;

    /// <summary>The recurrent matrix of the last forward pass: Uh, or Uh·mask under weight drop.</summary>
    private ReadOnlySpan<float> RecurrentWeight =>
        _dropped ? _uhDropped.AsSpan(0, HiddenDim * HiddenDim) : Uh.Value.Data.AsSpan(0, HiddenDim * HiddenDim);

    public ElmanRnnUnit(int inputDim, int hiddenDim, float weightDropout = 0f) : base(inputDim, hiddenDim)
    {
        _weightDrop = new Dropout(weightDropout);
        Wh = AddParameter("Wh", new Parameter(inputDim, hiddenDim));
        Uh = AddParameter("Uh", new Parameter(hiddenDim, hiddenDim));
        Bias = AddParameter("b", new Parameter(hiddenDim));
    }

    /// <inheritdoc/>
    public override void Forward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> h0,
        Span<float> h, Span<float> hN, Rng? weightDropRng = null)
    {
        int H = HiddenDim, rows = steps * batch;
        Check.Length(x, (long)rows * InputDim, nameof(x));
        Check.Length(h, (long)rows * H, nameof(h));
        if (!h0.IsEmpty) Check.Length(h0, (long)batch * H, nameof(h0));
        if (!hN.IsEmpty) Check.Length(hN, (long)batch * H, nameof(hN));

        // Input contributions of every step at once, plus the bias.
        gemm.Multiply(GemmVariant.NN, rows, H, InputDim, x, InputDim, Wh.Value.Data, H, h, H, accumulate: false);
        Kernels.AddRowVector(h, rows, H, Bias.Value.Data);
        int stepLen = batch * H;
        _dropped = weightDropRng != null && !_weightDrop.IsIdentity;
        if (_dropped)
        {
            if (_uhDropped.Length < H * H) { _uhDropped = new float[H * H]; _dUhDropped = new float[H * H]; }
            Uh.Value.Data.AsSpan(0, H * H).CopyTo(_uhDropped);
            _weightDrop.Forward(_uhDropped.AsSpan(0, H * H), weightDropRng!);
        }
        if (steps > 1 || !h0.IsEmpty) _uh.Pack(transposed: false, H, H, RecurrentWeight, H);
        for (int t = 0; t < steps; t++)
        {
            var ht = h.Slice(t * stepLen, stepLen);
            if (t > 0)
                gemm.Multiply(GemmVariant.NN, batch, h.Slice((t - 1) * stepLen, stepLen), H, _uh, ht, H, accumulate: true);
            else if (!h0.IsEmpty)
                gemm.Multiply(GemmVariant.NN, batch, h0, H, _uh, ht, H, accumulate: true);
            FastMath.Tanh(ht, ht);
        }
        if (!hN.IsEmpty) h.Slice(rows * H - stepLen, stepLen).CopyTo(hN);
    }

    /// <summary>
    /// Backpropagation through time. dh holds dLoss/dh for every step on entry (from the layer above or the head)
    /// and is overwritten with the gradient of the pre-activations. Adds into Wh, Uh, b gradients; writes dLoss/dx
    /// into dx (if not empty) and dLoss/dh0 into dh0 (if not empty). Uses the weight-drop mask of the last Forward.
    /// </summary>
    public override void Backward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> h0,
        ReadOnlySpan<float> h, Span<float> dh, Span<float> dx, Span<float> dh0)
    {
        int H = HiddenDim, rows = steps * batch, stepLen = batch * H;
        Check.Length(x, (long)rows * InputDim, nameof(x));
        Check.Length(h, (long)rows * H, nameof(h));
        Check.Length(dh, (long)rows * H, nameof(dh));
        if (!h0.IsEmpty) Check.Length(h0, (long)stepLen, nameof(h0));
        if (!dx.IsEmpty) Check.Length(dx, (long)rows * InputDim, nameof(dx));
        if (!dh0.IsEmpty) Check.Length(dh0, (long)stepLen, nameof(dh0));

        if (steps > 1 || !dh0.IsEmpty) _uhT.Pack(transposed: true, H, H, RecurrentWeight, H);
        for (int t = steps - 1; t >= 0; t--)
        {
            var g = dh.Slice(t * stepLen, stepLen);
            if (t < steps - 1)
                gemm.Multiply(GemmVariant.NT, batch, dh.Slice((t + 1) * stepLen, stepLen), H, _uhT, g, H, accumulate: true);
            Kernels.MultiplyByTanhDerivative(g, h.Slice(t * stepLen, stepLen));
        }
        if (!dh0.IsEmpty)
            gemm.Multiply(GemmVariant.NT, batch, dh.Slice(0, stepLen), H, _uhT, dh0, H, accumulate: false);

        gemm.Multiply(GemmVariant.TN, InputDim, H, rows, x, InputDim, dh, H, Wh.Grad.Data, H, accumulate: true);
        // With weight drop the products give dLoss/d(Uh·mask); Uh's gradient is that times the mask.
        var dUh = _dropped ? _dUhDropped.AsSpan(0, H * H) : Uh.Grad.Data.AsSpan(0, H * H);
        if (_dropped) dUh.Clear();
        if (steps > 1)
            gemm.Multiply(GemmVariant.TN, H, H, rows - batch, h.Slice(0, rows * H - stepLen), H, dh.Slice(stepLen), H, dUh, H, accumulate: true);
        if (!h0.IsEmpty)
            gemm.Multiply(GemmVariant.TN, H, H, batch, h0, H, dh.Slice(0, stepLen), H, dUh, H, accumulate: true);
        if (_dropped)
        {
            _weightDrop.Backward(dUh);
            System.Numerics.Tensors.TensorPrimitives.Add(Uh.Grad.Data.AsSpan(0, H * H), dUh, Uh.Grad.Data.AsSpan(0, H * H));
        }
        Kernels.AddColumnSums(dh, rows, H, Bias.Grad.Data);
        if (!dx.IsEmpty)
            gemm.Multiply(GemmVariant.NT, rows, InputDim, H, dh, H, Wh.Value.Data, H, dx, InputDim, accumulate: false);
    }

    public override void Dispose()
    {
        _uh.Dispose();
        _uhT.Dispose();
    }

    /// <summary>One step for a batch: h ← tanh(x·Wh + h·Uh + b). Used by generation.</summary>
    public override void Step(SgemmEngine gemm, int batch, ReadOnlySpan<float> x, Span<float> state)
    {
        Grow(ref _step, StepScratchLength(batch));
        Step(gemm, batch, x, state, _step);
    }

    /// <inheritdoc/>
    public override void Step(SgemmEngine gemm, int batch, ReadOnlySpan<float> x, Span<float> state, Span<float> scratch)
    {
        int H = HiddenDim;
        Check.Length(x, (long)batch * InputDim, nameof(x));
        Check.Length(state, (long)batch * H, nameof(state));
        Check.AtLeast(scratch, StepScratchLength(batch), nameof(scratch));
        var next = scratch.Slice(0, batch * H);
        gemm.Multiply(GemmVariant.NN, batch, H, InputDim, x, InputDim, Wh.Value.Data, H, next, H, accumulate: false);
        gemm.Multiply(GemmVariant.NN, batch, H, H, state, H, Uh.Value.Data, H, next, H, accumulate: true);
        Kernels.AddRowVector(next, batch, H, Bias.Value.Data);
        FastMath.Tanh(next, state);
    }

    /// <inheritdoc/>
    public override int StepScratchLength(int batch) => batch * HiddenDim;

    /// <inheritdoc/>
    public override double TrainingFlops(double rows) => 3 * 2 * rows * (InputDim + HiddenDim) * (double)HiddenDim;
}
