using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// One recurrent layer over a whole sequence, the part of the model that differs between cells.
/// Sequences are time-major: row t·B + i of a [T·B, dim] buffer is step t of sequence i, so the rows of one step
/// are contiguous and whole-sequence products are single matrix multiplies. A layer's state for a batch is
/// StateCount tensors [B, H] one after the other: h for Elman and GRU, h then c for LSTM.
/// To add a cell: derive from this class (or from <see cref="GatedRecurrentLayer"/>), add it to
/// <see cref="CellType"/> and <see cref="RecurrentStack.CreateLayer"/>.
/// </summary>
public abstract class RecurrentLayer : Module, IDisposable
{
    protected RecurrentLayer(int inputDim, int hiddenDim)
    {
        Check.Positive(inputDim, nameof(inputDim));
        Check.Positive(hiddenDim, nameof(hiddenDim));
        InputDim = inputDim;
        HiddenDim = hiddenDim;
    }

    public int InputDim { get; }
    public int HiddenDim { get; }
    public abstract CellType Cell { get; }

    /// <summary>How many [B, H] tensors make the state: 1 (h) or 2 (h, c).</summary>
    public virtual int StateCount => 1;

    /// <summary>The length of this layer's state for a batch: StateCount·B·H.</summary>
    public int StateLength(int batch) => StateCount * batch * HiddenDim;

    /// <summary>The probability of dropping each element of the recurrent matrix in training (DropConnect; 0: off).</summary>
    public abstract float WeightDropout { get; }

    /// <summary>
    /// Runs the layer over a whole sequence. x: [T·B, InputDim]; state0: StateLength(B) or empty for zeros;
    /// h (output): [T·B, H], the hidden state after every step; stateN (output, may be empty): the state after the
    /// last step. With an rng and WeightDropout &gt; 0 (training), the recurrent matrix gets a new mask for this pass.
    /// </summary>
    public abstract void Forward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> state0,
        Span<float> h, Span<float> stateN, Rng? weightDropRng = null);

    /// <summary>
    /// Backpropagation through time after Forward with the same x and state0. dh holds dLoss/dh for every step on
    /// entry and is used as scratch. Adds into the parameters' gradients; writes dLoss/dx into dx and dLoss/dstate0
    /// into dState0 (either may be empty).
    /// </summary>
    public abstract void Backward(SgemmEngine gemm, int steps, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> state0,
        ReadOnlySpan<float> h, Span<float> dh, Span<float> dx, Span<float> dState0);

    /// <summary>One step for a batch (generation): advances state (StateLength(B)) in place; its first B·H values are the new h.</summary>
    public abstract void Step(SgemmEngine gemm, int batch, ReadOnlySpan<float> x, Span<float> state);

    /// <summary>
    /// The same step with caller-owned scratch (at least StepScratchLength(B) values) instead of the layer's own
    /// buffers: it writes nothing in the layer, so sessions with their own engine and scratch may step one shared
    /// layer at once.
    /// </summary>
    public abstract void Step(SgemmEngine gemm, int batch, ReadOnlySpan<float> x, Span<float> state, Span<float> scratch);

    /// <summary>The scratch values one step of a batch needs (see the scratch overload of Step).</summary>
    public abstract int StepScratchLength(int batch);

    /// <summary>Floating-point operations of one training step's matrix products for `rows` rows (forward and backward).</summary>
    public abstract double TrainingFlops(double rows);

    protected static void Grow(ref float[] buffer, long length)
    {
        if (buffer.Length < length) buffer = new float[length];
    }

    public virtual void Dispose() { }
}
