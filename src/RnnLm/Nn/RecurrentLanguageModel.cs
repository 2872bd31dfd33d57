using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// The book's model: token ids → Embedding (with a padding row) → stacked recurrent layers (Elman, GRU or LSTM)
/// → Linear head → logits,
/// trained with cross-entropy on the next token, padding ignored. Optional: dropout (embeddings, between
/// layers, before the head) and a head tied to the embedding table (through a projection when the sizes differ).
/// Public inputs are batch-major [B, T] ids, as in PyTorch; inside, sequences are kept time-major so that a
/// whole sequence's products are single matrix multiplies. States are [L, S, B, H]: per layer h, and c for LSTM
/// (S = the layers' StateCount).
/// Every buffer is allocated on the first call with a given size and reused after.
/// </summary>
public sealed class RecurrentLanguageModel : Module, IDisposable
{
    private readonly ChunkedLinearCrossEntropy _head;
    private readonly Dropout _embeddingDropout, _outputDropout;
    private int[] _ids = [], _targets = [];
    private float[] _x = [], _dx = [], _top = [], _dTop = [], _proj = [], _dProj = [];
    private float[] _stepX = [], _stepProj = [], _roundedHeadIn = [];
    private QuantizedMatrix? _headWeights;
    private Linear? _dequantizedHead;

    public ModelConfig Config { get; }
    public Embedding Embedding { get; }
    public RecurrentStack Rnn { get; }
    /// <summary>The projection from the hidden size to the embedding size before a tied head, or null.</summary>
    public Linear? Proj { get; }
    public Linear Fc { get; }
    public CrossEntropyLoss Criterion { get; }
    public SgemmEngine Gemm { get; }

    /// <summary>Draws the dropout masks; its state is part of a checkpoint.</summary>
    public Rng DropoutRng { get; } = new(0x5EED);

    public RecurrentLanguageModel(ModelConfig config, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Embedding = AddModule("embedding", new Embedding(config.VocabSize, config.EmbDim, config.PadIndex));
        Rnn = AddModule("rnn", new RecurrentStack(config.EmbDim, config.HiddenDim, config.NumLayers, config.Dropout, config.WeightDropout, config.Cell));
        if (config.TieWeights)
        {
            if (config.HiddenDim != config.EmbDim) Proj = AddModule("proj", new Linear(config.HiddenDim, config.EmbDim));
            Fc = AddModule("fc", new Linear(Embedding.Weight));
        }
        else Fc = AddModule("fc", new Linear(config.HiddenDim, config.VocabSize));
        Criterion = new CrossEntropyLoss(config.PadIndex);
        _embeddingDropout = new Dropout(config.Dropout);
        _outputDropout = new Dropout(config.Dropout);
        Gemm = new SgemmEngine(threads);
        _head = new ChunkedLinearCrossEntropy(threads);
    }

    /// <summary>How the head's weights are stored for inference (see <see cref="SetPrecision"/>); F32 by default.</summary>
    public Precision Precision { get; private set; } = Precision.F32;

    /// <summary>The head's weights in <see cref="Precision"/>, or null at F32.</summary>
    public QuantizedMatrix? HeadWeights => _headWeights;

    /// <summary>
    /// Stores the head's weights (vocabulary × input, the largest matrix: every generated token reads all of it)
    /// in bf16 or int8 for inference, a copy of the float32 weights taken now; F32 drops the copy. From then on
    /// Step, LossSum and Forward compute the logits with the copy's values (Step through
    /// <see cref="QuantizedMatrix.MultiplyTransposed"/>, which reads 2 or 1 bytes per weight; LossSum through the
    /// float32 GEMM on the dequantized values, with the input rounded as the int8 product rounds it). The embedding, recurrent layers and projection stay float32, and so
    /// does training: ForwardBackward refuses a model that is not at F32. Not to be called while sessions step.
    /// </summary>
    public void SetPrecision(Precision precision)
    {
        if (!Enum.IsDefined(precision)) throw new ArgumentOutOfRangeException(nameof(precision), precision, "precision must be F32, Bf16 or Int8.");
        _dequantizedHead = null;
        _headWeights = precision == Precision.F32 ? null
            : QuantizedMatrix.Create(precision, Fc.Weight.Value.Data, Fc.OutFeatures, Fc.InFeatures);
        Precision = precision;
    }

    /// <summary>logits [rows, V] = the head applied to input [rows, D], in the model's precision.</summary>
    private void HeadForward(SgemmEngine gemm, int rows, ReadOnlySpan<float> input, Span<float> logits)
    {
        if (_headWeights is { } q) gemm.MultiplyTransposed(q, rows, input, Fc.Bias.Value.Data, logits);
        else Fc.Forward(gemm, rows, input, logits);
    }

    /// <summary>The head the chunked loss multiplies with: Fc, or a float32 layer holding the dequantized values.</summary>
    private Linear LossHead()
    {
        if (_headWeights is not { } q) return Fc;
        if (_dequantizedHead == null)
        {
            var head = new Linear(Fc.InFeatures, Fc.OutFeatures);
            q.Dequantize(head.Weight.Value.Data);
            Fc.Bias.Value.Data.CopyTo(head.Bias.Value.Data, 0);
            _dequantizedHead = head;
        }
        return _dequantizedHead;
    }

    /// <summary>The length of a state for a batch: L·S·B·H.</summary>
    public int StateLength(int batch) => Rnn.StateLength(batch);

    private bool DropoutActive => Training && Config.Dropout > 0;
    private bool AnyDropoutActive => Training && (Config.Dropout > 0 || Config.WeightDropout > 0);

    /// <summary>Allocates every buffer a batch of this size needs, so that later steps allocate nothing.</summary>
    public void Reserve(int batch, int steps)
    {
        Check.Positive(batch, nameof(batch));
        Check.Positive(steps, nameof(steps));
        int rows = batch * steps, E = Config.EmbDim, H = Config.HiddenDim;
        Grow(ref _ids, rows); Grow(ref _targets, rows);
        Grow(ref _x, rows * E); Grow(ref _dx, rows * E);
        Grow(ref _dTop, rows * H);
        if (Config.Dropout > 0) Grow(ref _top, rows * H);
        if (Proj != null) { Grow(ref _proj, rows * E); Grow(ref _dProj, rows * E); }
        Rnn.Reserve(rows);
    }

    private static void Grow<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[length];
    }

    /// <summary>
    /// One forward and backward pass: returns the mean loss over the targets that are not padding and adds its
    /// gradient into every parameter's Grad (call ZeroGrad first). inputs, targets: [B, T] batch-major;
    /// h0: the state [L, S, B, H] or empty for zeros; hN (optional output): the state after the last step.
    /// </summary>
    public float ForwardBackward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch, int steps,
        ReadOnlySpan<float> h0 = default, Span<float> hN = default)
    {
        if (Precision != Precision.F32)
            throw new InvalidOperationException($"training runs in float32; this model's head is {Precision.Name()} for inference: SetPrecision(Precision.F32) first.");
        int rows = Prepare(inputs, targets, batch, steps, out int count);
        CheckState(h0, batch, nameof(h0)); CheckState(hN, batch, nameof(hN));
        int E = Config.EmbDim, H = Config.HiddenDim;
        var x = _x.AsSpan(0, rows * E);
        RunRecurrent(steps, batch, x, h0, hN, out var topDropped);
        if (count == 0) return 0f;

        var headIn = Proj == null ? topDropped : _proj.AsSpan(0, rows * E);
        if (Proj != null) Proj.Forward(Gemm, rows, topDropped, _proj.AsSpan(0, rows * E));
        var dTop = _dTop.AsSpan(0, rows * H);
        var dHeadIn = Proj == null ? dTop : _dProj.AsSpan(0, rows * E);
        double sum = _head.Run(Gemm, Fc, Criterion, rows, headIn, _targets.AsSpan(0, rows), backward: true, 1f / count, dHeadIn);
        Proj?.Backward(Gemm, rows, topDropped, dHeadIn, dTop);
        if (DropoutActive) _outputDropout.Backward(dTop);

        var dx = _dx.AsSpan(0, rows * E);
        Rnn.Backward(Gemm, steps, batch, x, h0, dTop, dx);
        if (DropoutActive) _embeddingDropout.Backward(dx);
        Embedding.Backward(_ids.AsSpan(0, rows), dx);
        // A tied head also learns through the padding row; it must stay a zero vector that is never updated.
        if (Config.TieWeights) Embedding.Weight.Grad.Data.AsSpan(Config.PadIndex * Config.EmbDim, Config.EmbDim).Clear();
        return (float)(sum / count);
    }

    /// <summary>The summed loss over the targets that are not padding, and their count; no gradient.</summary>
    public double LossSum(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch, int steps, out int count,
        ReadOnlySpan<float> h0 = default, Span<float> hN = default)
    {
        int rows = Prepare(inputs, targets, batch, steps, out count);
        CheckState(h0, batch, nameof(h0)); CheckState(hN, batch, nameof(hN));
        RunRecurrent(steps, batch, _x.AsSpan(0, rows * Config.EmbDim), h0, hN, out var top);
        if (count == 0) return 0;
        return _head.Run(Gemm, LossHead(), Criterion, rows, LossHeadInput(rows, top), _targets.AsSpan(0, rows), backward: false, 1f, default);
    }

    /// <summary>
    /// The head's input as the chunked loss takes it: at int8, each row rounded as the int8 product rounds it
    /// (<see cref="QuantizedMatrix.RoundActivationRows"/>), so that the loss sees the values Step's logits come from.
    /// </summary>
    private ReadOnlySpan<float> LossHeadInput(int rows, ReadOnlySpan<float> top)
    {
        var input = HeadInput(rows, top);
        if (_headWeights is not { Precision: Precision.Int8 } q) return input;
        Grow(ref _roundedHeadIn, input.Length);
        var rounded = _roundedHeadIn.AsSpan(0, input.Length);
        q.RoundActivationRows(rows, input, rounded);
        return rounded;
    }

    /// <summary>The logits [B, T, V] for inputs [B, T] (materialised: for small batches and tests).</summary>
    public void Forward(ReadOnlySpan<int> inputs, int batch, int steps, Span<float> logits,
        ReadOnlySpan<float> h0 = default, Span<float> hN = default)
    {
        int rows = Prepare(inputs, default, batch, steps, out _);
        int V = Config.VocabSize, D = Fc.InFeatures;
        Check.Length(logits, (long)rows * V, nameof(logits));
        CheckState(h0, batch, nameof(h0)); CheckState(hN, batch, nameof(hN));
        RunRecurrent(steps, batch, _x.AsSpan(0, rows * Config.EmbDim), h0, hN, out var top);
        var headIn = HeadInput(rows, top);
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++)
                HeadForward(Gemm, 1, headIn.Slice((t * batch + b) * D, D), logits.Slice((b * steps + t) * V, V));
    }

    /// <summary>
    /// One step for a batch of sequences (generation): feeds tokens [B], advances state [L, S, B, H] in place and
    /// writes the next-token logits [B, V]. Dropout is never applied here.
    /// </summary>
    public void Step(ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits)
    {
        int batch = tokens.Length, E = Config.EmbDim;
        Check.Positive(batch, nameof(tokens));
        CheckState(state, batch, nameof(state));
        if (state.IsEmpty) throw new ArgumentException("state must hold the model's state; it is empty.", nameof(state));
        Check.Length(logits, (long)batch * Config.VocabSize, nameof(logits));
        Grow(ref _stepX, batch * E); Grow(ref _stepProj, batch * E);
        Embedding.Forward(tokens, _stepX.AsSpan(0, batch * E));
        var input = Rnn.Step(Gemm, batch, _stepX.AsSpan(0, batch * E), state);
        if (Proj != null)
        {
            Proj.Forward(Gemm, batch, input, _stepProj.AsSpan(0, batch * E));
            input = _stepProj.AsSpan(0, batch * E);
        }
        HeadForward(Gemm, batch, input, logits);
    }

    /// <summary>
    /// The same step as <see cref="Step(ReadOnlySpan{int}, Span{float}, Span{float})"/> (the same bits) on a session's own
    /// engine and buffers: it reads the model's parameters and writes nothing in the model, so any number of
    /// sessions may step one model at once (see <see cref="InferenceSession"/>).
    /// </summary>
    internal void Step(SgemmEngine gemm, ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits,
        Span<float> x, Span<float> proj, Span<float> scratch)
    {
        int batch = tokens.Length, E = Config.EmbDim;
        x = x.Slice(0, batch * E);
        Embedding.Forward(tokens, x);
        var input = Rnn.Step(gemm, batch, x, state, scratch);
        if (Proj != null)
        {
            Proj.Forward(gemm, batch, input, proj.Slice(0, batch * E));
            input = proj.Slice(0, batch * E);
        }
        HeadForward(gemm, batch, input, logits);
    }

    /// <summary>Embedding dropout, the recurrent stack, and dropout on its output (topDropped: what the head reads).</summary>
    private void RunRecurrent(int steps, int batch, Span<float> x, ReadOnlySpan<float> h0, Span<float> hN,
        out ReadOnlySpan<float> topDropped)
    {
        bool drop = DropoutActive;
        if (drop) _embeddingDropout.Forward(x, DropoutRng);
        Rnn.Forward(Gemm, steps, batch, x, h0, hN, AnyDropoutActive ? DropoutRng : null);
        var top = Rnn.Output;
        topDropped = top;
        if (drop)
        {
            var d = _top.AsSpan(0, top.Length);
            top.CopyTo(d);
            _outputDropout.Forward(d, DropoutRng);
            topDropped = d;
        }
    }

    /// <summary>What the head reads: the (dropped-out) top states, projected when the head is tied through one.</summary>
    private ReadOnlySpan<float> HeadInput(int rows, ReadOnlySpan<float> top)
    {
        if (Proj == null) return top;
        var p = _proj.AsSpan(0, rows * Config.EmbDim);
        Proj.Forward(Gemm, rows, top, p);
        return p;
    }

    /// <summary>Throws an ArgumentException naming the state argument when its length does not fit the batch.</summary>
    private void CheckState(ReadOnlySpan<float> state, int batch, string name)
    {
        if (state.IsEmpty) return;
        int expected = StateLength(batch);
        if (state.Length != expected)
            throw new ArgumentException($"{name} has {state.Length} values; the state of this {Config.Cell.Name()} model for a batch of {batch} " +
                $"has {expected} ({Config.NumLayers} layers × {Rnn.Layers[0].StateCount} tensors × {batch} × hidden {Config.HiddenDim}).", name);
    }

    /// <summary>Checks shapes and ids, transposes to time-major and looks up the embeddings. Returns B·T; count: the targets that are not padding.</summary>
    private int Prepare(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch, int steps, out int count)
    {
        count = 0;
        int ignore = Criterion.IgnoreIndex;
        Check.Positive(batch, nameof(batch));
        Check.Positive(steps, nameof(steps));
        int rows = batch * steps, V = Config.VocabSize;
        Check.Length(inputs, rows, nameof(inputs));
        bool hasTargets = !targets.IsEmpty;
        if (hasTargets) Check.Length(targets, rows, nameof(targets));
        Reserve(batch, steps);
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
            {
                int i = b * steps + t, id = inputs[i];
                if ((uint)id >= (uint)V)
                    throw new ArgumentException($"input id {id} at [{b},{t}] is outside the vocabulary [0, {V}).", nameof(inputs));
                _ids[t * batch + b] = id;
                if (hasTargets)
                {
                    int y = targets[i];
                    if ((uint)y >= (uint)V)
                        throw new ArgumentException($"target id {y} at [{b},{t}] is outside the vocabulary [0, {V}).", nameof(targets));
                    _targets[t * batch + b] = y;
                    if (y != ignore) count++;
                }
            }
        Embedding.Forward(_ids.AsSpan(0, rows), _x.AsSpan(0, rows * Config.EmbDim));
        return rows;
    }

    public void Dispose()
    {
        Gemm.Dispose();
        _head.Dispose();
        Rnn.Dispose();
    }
}
