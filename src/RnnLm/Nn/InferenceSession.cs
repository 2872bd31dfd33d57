using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// One caller's view of a shared model for inference: its own recurrent state, next-token logits, matrix-multiply
/// engine and step buffers, allocated once here. A session reads the model's parameters and writes nothing in the
/// model, so any number of sessions (one per thread) may step the same model at once, as long as nothing trains
/// or evaluates that model meanwhile. A session itself is not thread-safe: one caller at a time.
/// Its steps give the same bits as <see cref="RecurrentLanguageModel.Step(ReadOnlySpan{int}, Span{float}, Span{float})"/>.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly SgemmEngine _gemm = new(1);
    private readonly float[] _state, _logits, _x, _proj, _scratch;

    public RecurrentLanguageModel Model { get; }
    /// <summary>The sequences stepped together.</summary>
    public int Batch { get; }

    public InferenceSession(RecurrentLanguageModel model, int batch = 1) : this(model, batch, null) { }

    /// <summary>onDispose: run once when the session is disposed (a generator counts its open sessions so).</summary>
    internal InferenceSession(RecurrentLanguageModel model, int batch, Action? onDispose)
    {
        _onDispose = onDispose;
        ArgumentNullException.ThrowIfNull(model);
        Check.Positive(batch, nameof(batch));
        Model = model;
        Batch = batch;
        int E = model.Config.EmbDim;
        _state = new float[model.StateLength(batch)];
        _logits = new float[batch * model.Config.VocabSize];
        _x = new float[batch * E];
        _proj = model.Proj != null ? new float[batch * E] : [];
        _scratch = new float[model.Rnn.StepScratchLength(batch)];
    }

    /// <summary>The state [L, S, B, H], advanced in place by each step; write it to start from another state.</summary>
    public Span<float> State => _state;

    /// <summary>The next-token logits [B, V] after the last step.</summary>
    public Span<float> Logits => _logits;

    /// <summary>Sets the state to zeros (a fresh sequence) and clears the logits.</summary>
    public void Reset()
    {
        Array.Clear(_state);
        Array.Clear(_logits);
    }

    /// <summary>Feeds one token per sequence (tokens: [B]) and writes the next-token logits.</summary>
    /// <exception cref="ArgumentException">tokens does not hold Batch ids, or an id is outside the vocabulary.</exception>
    public void Step(ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tokens.Length != Batch) throw new ArgumentException($"tokens has {tokens.Length} ids; this session steps {Batch}.", nameof(tokens));
        Model.Step(_gemm, tokens, _state, _logits, _x, _proj, _scratch);
    }

    /// <summary>Feeds one token (a session of batch 1).</summary>
    public void Step(int token) => Step([token]);

    private readonly Action? _onDispose;
    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _gemm.Dispose();
        _onDispose?.Invoke();
    }
}
