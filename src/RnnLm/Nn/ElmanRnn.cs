using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// A stack of Elman units: layer l takes layer l-1's hidden state at the same step as its input.
/// Keeps every layer's hidden states of the last forward pass (time-major [T·B, H]) for the backward pass,
/// in buffers that grow once to the largest batch seen and are reused.
/// </summary>
public sealed class ElmanRnn : Module
{
    private readonly ElmanRnnUnit[] _layers;
    private readonly Dropout[] _between;  // before layer l ≥ 1
    private float[][] _hidden;      // per layer [T·B, H]
    private float[][] _dropped;     // layer l-1's states after dropout, the input of layer l ≥ 1
    private bool _droppedLast;
    private float[] _gradA = [], _gradB = [];
    private int _rows;

    public int InputDim { get; }
    public int HiddenDim { get; }
    public int NumLayers => _layers.Length;
    public IReadOnlyList<ElmanRnnUnit> Layers => _layers;

    public ElmanRnn(int inputDim, int hiddenDim, int numLayers, float dropout = 0f, float weightDropout = 0f)
    {
        Check.Positive(inputDim, nameof(inputDim));
        Check.Positive(hiddenDim, nameof(hiddenDim));
        Check.Positive(numLayers, nameof(numLayers));
        InputDim = inputDim;
        HiddenDim = hiddenDim;
        _layers = new ElmanRnnUnit[numLayers];
        for (int l = 0; l < numLayers; l++)
            _layers[l] = AddModule($"layers.{l}", new ElmanRnnUnit(l == 0 ? inputDim : hiddenDim, hiddenDim, weightDropout));
        _hidden = new float[numLayers][];
        _dropped = new float[numLayers][];
        _between = new Dropout[numLayers];
        for (int l = 0; l < numLayers; l++) { _hidden[l] = []; _dropped[l] = []; _between[l] = new Dropout(dropout); }
    }

    /// <summary>The dropout probability applied between layers in training.</summary>
    public float DropoutP => _between[0].P;

    /// <summary>Grows the per-step buffers to hold rows = steps·batch rows; allocates only when they grow.</summary>
    public void Reserve(int rows)
    {
        int H = HiddenDim;
        for (int l = 0; l < _hidden.Length; l++)
        {
            if (_hidden[l].Length < rows * H) _hidden[l] = new float[rows * H];
            if (l > 0 && DropoutP > 0 && _dropped[l].Length < rows * H) _dropped[l] = new float[rows * H];
        }
        int g = rows * Math.Max(H, InputDim);
        if (_gradA.Length < g) { _gradA = new float[g]; _gradB = new float[g]; }
    }

    /// <summary>The hidden states of layer l from the last forward pass, [T·B, H].</summary>
    public ReadOnlySpan<float> LayerOutput(int l) => _hidden[l].AsSpan(0, _rows * HiddenDim);

    /// <summary>The top layer's hidden states from the last forward pass, [T·B, H].</summary>
    public ReadOnlySpan<float> Output => LayerOutput(NumLayers - 1);

    /// <summary>
    /// x: [T·B, InputDim] time-major; h0: [L, B, H] or empty for zeros; hN (output, optional): [L, B, H], the state
    /// after the last step. With an rng (training), dropout is applied to the input of every layer above the first,
    /// and each layer's weight drop (if any) to its Uh.
    /// </summary>
    public void Forward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> h0, Span<float> hN,
        Rng? dropoutRng = null)
    {
        Check.Positive(steps, nameof(steps));
        Check.Positive(batch, nameof(batch));
        int rows = steps * batch, H = HiddenDim, stateLen = batch * H;
        if (!h0.IsEmpty) Check.Length(h0, (long)NumLayers * stateLen, nameof(h0));
        if (!hN.IsEmpty) Check.Length(hN, (long)NumLayers * stateLen, nameof(hN));
        Reserve(rows);
        _rows = rows;
        _droppedLast = dropoutRng != null && DropoutP > 0;
        ReadOnlySpan<float> input = x;
        for (int l = 0; l < NumLayers; l++)
        {
            var h = _hidden[l].AsSpan(0, rows * H);
            _layers[l].Forward(gemm, steps, batch, input, h0.IsEmpty ? default : h0.Slice(l * stateLen, stateLen), h, dropoutRng);
            if (!hN.IsEmpty) h.Slice(rows * H - stateLen, stateLen).CopyTo(hN.Slice(l * stateLen, stateLen));
            input = h;
            if (l + 1 < NumLayers && _droppedLast)
            {
                var d = _dropped[l + 1].AsSpan(0, rows * H);
                h.CopyTo(d);
                _between[l + 1].Forward(d, dropoutRng!);
                input = d;
            }
        }
    }

    /// <summary>
    /// Backpropagation through time after Forward with the same x and h0. dTop: dLoss/d(top layer's states),
    /// [T·B, H], consumed. dx (optional): dLoss/dx, [T·B, InputDim].
    /// </summary>
    public void Backward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> h0,
        ReadOnlySpan<float> dTop, Span<float> dx)
    {
        int rows = steps * batch, H = HiddenDim, stateLen = batch * H;
        if (rows != _rows) throw new InvalidOperationException($"Backward over {rows} rows after a Forward over {_rows}.");
        Check.Length(dTop, (long)rows * H, nameof(dTop));
        var dh = _gradA.AsSpan(0, rows * H);
        dTop.CopyTo(dh);
        for (int l = NumLayers - 1; l >= 0; l--)
        {
            var input = l == 0 ? x : (_droppedLast ? _dropped[l] : _hidden[l - 1]).AsSpan(0, rows * H);
            var layerH0 = h0.IsEmpty ? default : h0.Slice(l * stateLen, stateLen);
            Span<float> dInput = l == 0 ? dx : _gradB.AsSpan(0, rows * H);
            _layers[l].Backward(gemm, steps, batch, input, layerH0, _hidden[l].AsSpan(0, rows * H), dh, dInput, default);
            if (l > 0)
            {
                if (_droppedLast) _between[l].Backward(dInput);
                (_gradA, _gradB) = (_gradB, _gradA);
                dh = _gradA.AsSpan(0, rows * H);
            }
        }
    }
}
