using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// The book's model: token ids → Embedding (with a padding row) → stacked Elman units → Linear head → logits,
/// trained with cross-entropy on the next token, padding ignored.
/// Public inputs are batch-major [B, T] ids, as in PyTorch; inside, sequences are kept time-major so that a
/// whole sequence's products are single matrix multiplies. Hidden states are [L, B, H].
/// Every buffer is allocated on the first call with a given size and reused after.
/// </summary>
public sealed class RecurrentLanguageModel : Module, IDisposable
{
    private readonly ChunkedLinearCrossEntropy _head = new();
    private int[] _ids = [], _targets = [];
    private float[] _x = [], _dTop = [], _dx = [];
    private float[] _stepX = [], _stepH = [];

    public ModelConfig Config { get; }
    public Embedding Embedding { get; }
    public ElmanRnn Rnn { get; }
    public Linear Fc { get; }
    public CrossEntropyLoss Criterion { get; }
    public SgemmEngine Gemm { get; }

    public RecurrentLanguageModel(ModelConfig config, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Embedding = AddModule("embedding", new Embedding(config.VocabSize, config.EmbDim, config.PadIndex));
        Rnn = AddModule("rnn", new ElmanRnn(config.EmbDim, config.HiddenDim, config.NumLayers));
        Fc = AddModule("fc", new Linear(config.HiddenDim, config.VocabSize));
        Criterion = new CrossEntropyLoss(config.PadIndex);
        Gemm = new SgemmEngine(threads);
    }

    /// <summary>The length of a hidden state for a batch: L·B·H.</summary>
    public int StateLength(int batch) => Config.NumLayers * batch * Config.HiddenDim;

    /// <summary>Allocates every buffer a batch of this size needs, so that later steps allocate nothing.</summary>
    public void Reserve(int batch, int steps)
    {
        Check.Positive(batch, nameof(batch));
        Check.Positive(steps, nameof(steps));
        int rows = batch * steps;
        if (_ids.Length < rows) { _ids = new int[rows]; _targets = new int[rows]; }
        if (_x.Length < rows * Config.EmbDim) { _x = new float[rows * Config.EmbDim]; _dx = new float[rows * Config.EmbDim]; }
        if (_dTop.Length < rows * Config.HiddenDim) _dTop = new float[rows * Config.HiddenDim];
        Rnn.Reserve(rows);
    }

    /// <summary>
    /// One forward and backward pass: returns the mean loss over the targets that are not padding and adds its
    /// gradient into every parameter's Grad (call ZeroGrad first). inputs, targets: [B, T] batch-major;
    /// h0: [L, B, H] or empty for zeros; hN (optional output): [L, B, H].
    /// </summary>
    public float ForwardBackward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch, int steps,
        ReadOnlySpan<float> h0 = default, Span<float> hN = default)
    {
        int rows = Prepare(inputs, targets, batch, steps);
        var x = _x.AsSpan(0, rows * Config.EmbDim);
        Rnn.Forward(Gemm, steps, batch, x, h0, hN);
        int count = Criterion.CountTargets(_targets.AsSpan(0, rows), Config.VocabSize);
        if (count == 0) return 0f;
        var dTop = _dTop.AsSpan(0, rows * Config.HiddenDim);
        double sum = _head.Run(Gemm, Fc, Criterion, rows, Rnn.Output, _targets.AsSpan(0, rows), backward: true, 1f / count, dTop);
        var dx = _dx.AsSpan(0, rows * Config.EmbDim);
        Rnn.Backward(Gemm, steps, batch, x, h0, dTop, dx);
        Embedding.Backward(_ids.AsSpan(0, rows), dx);
        return (float)(sum / count);
    }

    /// <summary>The summed loss over the targets that are not padding, and their count; no gradient.</summary>
    public double LossSum(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch, int steps, out int count,
        ReadOnlySpan<float> h0 = default, Span<float> hN = default)
    {
        int rows = Prepare(inputs, targets, batch, steps);
        Rnn.Forward(Gemm, steps, batch, _x.AsSpan(0, rows * Config.EmbDim), h0, hN);
        count = Criterion.CountTargets(_targets.AsSpan(0, rows), Config.VocabSize);
        if (count == 0) return 0;
        return _head.Run(Gemm, Fc, Criterion, rows, Rnn.Output, _targets.AsSpan(0, rows), backward: false, 1f, default);
    }

    /// <summary>The logits [B, T, V] for inputs [B, T] (materialised: for small batches and tests).</summary>
    public void Forward(ReadOnlySpan<int> inputs, int batch, int steps, Span<float> logits,
        ReadOnlySpan<float> h0 = default, Span<float> hN = default)
    {
        int rows = Prepare(inputs, default, batch, steps);
        int V = Config.VocabSize, H = Config.HiddenDim;
        Check.Length(logits, (long)rows * V, nameof(logits));
        Rnn.Forward(Gemm, steps, batch, _x.AsSpan(0, rows * Config.EmbDim), h0, hN);
        var top = Rnn.Output;
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++)
                Fc.Forward(Gemm, 1, top.Slice((t * batch + b) * H, H), logits.Slice((b * steps + t) * V, V));
    }

    /// <summary>
    /// One step for a batch of sequences (generation): feeds tokens [B], advances state [L, B, H] in place and
    /// writes the next-token logits [B, V].
    /// </summary>
    public void Step(ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits)
    {
        int batch = tokens.Length, H = Config.HiddenDim, stateLen = batch * H;
        Check.Positive(batch, nameof(tokens));
        Check.Length(state, (long)Config.NumLayers * stateLen, nameof(state));
        Check.Length(logits, (long)batch * Config.VocabSize, nameof(logits));
        int width = Math.Max(Config.EmbDim, H);
        if (_stepX.Length < batch * width) { _stepX = new float[batch * width]; _stepH = new float[batch * width]; }
        Embedding.Forward(tokens, _stepX.AsSpan(0, batch * Config.EmbDim));
        ReadOnlySpan<float> input = _stepX.AsSpan(0, batch * Config.EmbDim);
        for (int l = 0; l < Config.NumLayers; l++)
        {
            var h = state.Slice(l * stateLen, stateLen);
            var next = _stepH.AsSpan(0, stateLen);
            Rnn.Layers[l].Step(Gemm, batch, input, h, next);
            next.CopyTo(h);
            input = h;
        }
        Fc.Forward(Gemm, batch, input, logits);
    }

    /// <summary>Checks shapes and ids, transposes to time-major and looks up the embeddings. Returns B·T.</summary>
    private int Prepare(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch, int steps)
    {
        Check.Positive(batch, nameof(batch));
        Check.Positive(steps, nameof(steps));
        int rows = batch * steps;
        Check.Length(inputs, rows, nameof(inputs));
        bool hasTargets = !targets.IsEmpty;
        if (hasTargets) Check.Length(targets, rows, nameof(targets));
        Reserve(batch, steps);
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
            {
                _ids[t * batch + b] = inputs[b * steps + t];
                if (hasTargets) _targets[t * batch + b] = targets[b * steps + t];
            }
        Embedding.Forward(_ids.AsSpan(0, rows), _x.AsSpan(0, rows * Config.EmbDim));
        return rows;
    }

    public void Dispose() => Gemm.Dispose();
}
