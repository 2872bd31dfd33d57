using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// A stack of recurrent layers of one cell type: layer l takes layer l-1's hidden state at the same step as its input.
/// The stack's state for a batch is every layer's state in turn, [L, S, B, H] with S = 1 (h) or 2 (h, c).
/// Keeps every layer's hidden states of the last forward pass (time-major [T·B, H]) for the backward pass,
/// in buffers that grow once to the largest batch seen and are reused.
/// Parameter names: Elman layers "layers.{l}.Wh/Uh/b" (the book's); GRU and LSTM PyTorch's "weight_ih_l{l}" and so on.
/// </summary>
public sealed class RecurrentStack : Module, IDisposable
{
    private readonly RecurrentLayer[] _layers;
    private readonly Dropout[] _between;  // before layer l ≥ 1
    private float[][] _hidden;      // per layer [T·B, H]
    private float[][] _dropped;     // layer l-1's states after dropout, the input of layer l ≥ 1
    private bool _droppedLast;
    private float[] _gradA = [], _gradB = [];
    private int _rows;

    public CellType Cell { get; }
    public int InputDim { get; }
    public int HiddenDim { get; }
    public int NumLayers => _layers.Length;
    public IReadOnlyList<RecurrentLayer> Layers => _layers;

    public RecurrentStack(int inputDim, int hiddenDim, int numLayers, float dropout = 0f, float weightDropout = 0f,
        CellType cell = CellType.Elman)
    {
        Check.Positive(inputDim, nameof(inputDim));
        Check.Positive(hiddenDim, nameof(hiddenDim));
        Check.Positive(numLayers, nameof(numLayers));
        Cell = cell;
        InputDim = inputDim;
        HiddenDim = hiddenDim;
        _layers = new RecurrentLayer[numLayers];
        for (int l = 0; l < numLayers; l++)
        {
            var layer = CreateLayer(cell, l, l == 0 ? inputDim : hiddenDim, hiddenDim, weightDropout);
            // PyTorch's nn.GRU/nn.LSTM name their weights with the layer index inside one module ("weight_ih_l0").
            _layers[l] = AddModule(cell == CellType.Elman ? $"layers.{l}" : "", layer);
        }
        _hidden = new float[numLayers][];
        _dropped = new float[numLayers][];
        _between = new Dropout[numLayers];
        for (int l = 0; l < numLayers; l++) { _hidden[l] = []; _dropped[l] = []; _between[l] = new Dropout(dropout); }
    }

    /// <summary>A layer of the given cell: the one place that maps a cell type to its class.</summary>
    public static RecurrentLayer CreateLayer(CellType cell, int index, int inputDim, int hiddenDim, float weightDropout) => cell switch
    {
        CellType.Elman => new ElmanRnnUnit(inputDim, hiddenDim, weightDropout),
        CellType.Gru => new GruLayer(index, inputDim, hiddenDim, weightDropout),
        CellType.Lstm => new LstmLayer(index, inputDim, hiddenDim, weightDropout),
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, "unknown cell type."),
    };

    /// <summary>The dropout probability applied between layers in training.</summary>
    public float DropoutP => _between[0].P;

    /// <summary>The length of one layer's state for a batch.</summary>
    public int LayerStateLength(int batch) => _layers[0].StateLength(batch);

    /// <summary>The length of the whole stack's state for a batch: L·S·B·H.</summary>
    public int StateLength(int batch) => NumLayers * LayerStateLength(batch);

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
    /// x: [T·B, InputDim] time-major; state0: StateLength(B) or empty for zeros; stateN (output, optional): the state
    /// after the last step. With an rng (training), dropout is applied to the input of every layer above the first,
    /// and each layer's weight drop (if any) to its recurrent matrix.
    /// </summary>
    public void Forward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> state0, Span<float> stateN,
        Rng? dropoutRng = null)
    {
        Check.Positive(steps, nameof(steps));
        Check.Positive(batch, nameof(batch));
        int rows = steps * batch, H = HiddenDim, layerLen = LayerStateLength(batch);
        if (!state0.IsEmpty) Check.Length(state0, StateLength(batch), nameof(state0));
        if (!stateN.IsEmpty) Check.Length(stateN, StateLength(batch), nameof(stateN));
        Reserve(rows);
        _rows = rows;
        _droppedLast = dropoutRng != null && DropoutP > 0;
        ReadOnlySpan<float> input = x;
        for (int l = 0; l < NumLayers; l++)
        {
            var h = _hidden[l].AsSpan(0, rows * H);
            _layers[l].Forward(gemm, steps, batch, input, state0.IsEmpty ? default : state0.Slice(l * layerLen, layerLen), h,
                stateN.IsEmpty ? default : stateN.Slice(l * layerLen, layerLen), dropoutRng);
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
    /// Backpropagation through time after Forward with the same x and state0. dTop: dLoss/d(top layer's states),
    /// [T·B, H]. dx (optional): dLoss/dx, [T·B, InputDim].
    /// </summary>
    public void Backward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> state0,
        ReadOnlySpan<float> dTop, Span<float> dx)
    {
        int rows = steps * batch, H = HiddenDim, layerLen = LayerStateLength(batch);
        if (rows != _rows) throw new InvalidOperationException($"Backward over {rows} rows after a Forward over {_rows}.");
        Check.Length(dTop, (long)rows * H, nameof(dTop));
        var dh = _gradA.AsSpan(0, rows * H);
        dTop.CopyTo(dh);
        for (int l = NumLayers - 1; l >= 0; l--)
        {
            var input = l == 0 ? x : (_droppedLast ? _dropped[l] : _hidden[l - 1]).AsSpan(0, rows * H);
            var layerState0 = state0.IsEmpty ? default : state0.Slice(l * layerLen, layerLen);
            Span<float> dInput = l == 0 ? dx : _gradB.AsSpan(0, rows * H);
            _layers[l].Backward(gemm, steps, batch, input, layerState0, _hidden[l].AsSpan(0, rows * H), dh, dInput, default);
            if (l > 0)
            {
                if (_droppedLast) _between[l].Backward(dInput);
                (_gradA, _gradB) = (_gradB, _gradA);
                dh = _gradA.AsSpan(0, rows * H);
            }
        }
    }

    /// <summary>One step for a batch (generation): advances state in place; returns the top layer's new h [B, H].</summary>
    public ReadOnlySpan<float> Step(SgemmEngine gemm, int batch, ReadOnlySpan<float> x, Span<float> state)
    {
        Check.Length(state, StateLength(batch), nameof(state));
        int layerLen = LayerStateLength(batch), stepLen = batch * HiddenDim;
        ReadOnlySpan<float> input = x;
        for (int l = 0; l < NumLayers; l++)
        {
            var s = state.Slice(l * layerLen, layerLen);
            _layers[l].Step(gemm, batch, input, s);
            input = s.Slice(0, stepLen);
        }
        return input;
    }

    /// <summary>
    /// One step with caller-owned scratch (StepScratchLength(B) values): writes nothing in the stack or its layers.
    /// Returns the top layer's new h [B, H], a slice of state.
    /// </summary>
    public ReadOnlySpan<float> Step(SgemmEngine gemm, int batch, ReadOnlySpan<float> x, Span<float> state, Span<float> scratch)
    {
        Check.Length(state, StateLength(batch), nameof(state));
        int layerLen = LayerStateLength(batch), stepLen = batch * HiddenDim;
        ReadOnlySpan<float> input = x;
        for (int l = 0; l < NumLayers; l++)
        {
            var s = state.Slice(l * layerLen, layerLen);
            _layers[l].Step(gemm, batch, input, s, scratch);
            input = s.Slice(0, stepLen);
        }
        return input;
    }

    /// <summary>The scratch one step of the stack needs for a batch (the layers run one after another, so the largest).</summary>
    public int StepScratchLength(int batch) => _layers.Max(l => l.StepScratchLength(batch));

    /// <summary>Floating-point operations of the stack's matrix products in one training step over `rows` rows.</summary>
    public double TrainingFlops(double rows) => _layers.Sum(l => l.TrainingFlops(rows));

    public void Dispose()
    {
        foreach (var layer in _layers) layer.Dispose();
    }
}
