namespace RnnLm.Nn;

/// <summary>
/// Inverted dropout: in training each element is kept with probability 1-p and scaled by 1/(1-p), or zeroed;
/// in evaluation it is the identity. The mask of the last forward pass is kept for the backward pass.
/// </summary>
public sealed class Dropout
{
    private float[] _mask = [];
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
        for (int i = 0; i < x.Length; i++)
        {
            float m = (uint)(rng.NextULong() >> 32) >= threshold ? scale : 0f;
            _mask[i] = m;
            x[i] *= m;
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
