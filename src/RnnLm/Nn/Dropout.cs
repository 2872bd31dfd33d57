namespace RnnLm.Nn;

/// <summary>
/// Inverted dropout: in training each element is kept with probability 1-p and scaled by 1/(1-p), or zeroed;
/// in evaluation it is the identity. The mask of the last forward pass is kept for the backward pass.
/// </summary>
public sealed class Dropout
{
    private const int Chunk = 2048;
    private float[] _mask = [];
    private readonly ulong[] _bits = new ulong[Chunk];
    private int _length;

    public float P { get; }

    public Dropout(float p)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentException($"dropout probability must be in [0, 1), got {p}.", nameof(p));
        P = p;
    }

    public bool IsIdentity => P == 0;

    /// <summary>x ← x·mask, with a new mask drawn from rng.</summary>
    public void Forward(Span<float> x, Rng rng)
    {
        if (P == 0) return;
        if (_mask.Length < x.Length) _mask = new float[x.Length];
        _length = x.Length;
        float scale = 1f / (1f - P);
        uint threshold = (uint)(P * 4294967296.0);
        // One 64-bit draw per element, its high 32 bits against the threshold; drawn a chunk at a time.
        for (int start = 0; start < x.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - start);
            var bits = _bits.AsSpan(0, n);
            rng.Fill(bits);
            var mask = _mask.AsSpan(start, n);
            for (int i = 0; i < n; i++) mask[i] = (uint)(bits[i] >> 32) >= threshold ? scale : 0f;
            System.Numerics.Tensors.TensorPrimitives.Multiply(x.Slice(start, n), mask, x.Slice(start, n));
        }
    }

    /// <summary>dx ← dx·mask, with the mask of the last Forward.</summary>
    public void Backward(Span<float> dx)
    {
        if (P == 0) return;
        if (dx.Length != _length) throw new ArgumentException($"dx has {dx.Length} elements, the last forward had {_length}.", nameof(dx));
        System.Numerics.Tensors.TensorPrimitives.Multiply(dx, _mask.AsSpan(0, _length), dx);
    }
}
