using System.Numerics.Tensors;

namespace RnnLm.Generation;

/// <summary>Picks the next token from a row of logits. Owns its scratch buffers: sampling allocates nothing.</summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private readonly Rng _rng;
    private float[] _probs = [];
    private int[] _order = [];

    public TokenSampler(SamplingOptions options, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        options.Validate();
        _options = options;
        _rng = rng;
    }

    /// <summary>The chosen token id. Tokens listed in banned (e.g. padding) are never chosen.</summary>
    public int Next(ReadOnlySpan<float> logits, ReadOnlySpan<int> banned = default)
    {
        int v = logits.Length;
        if (v == 0) throw new ArgumentException("logits is empty.", nameof(logits));
        if (_probs.Length < v) { _probs = new float[v]; _order = new int[v]; }
        var p = _probs.AsSpan(0, v);
        TensorPrimitives.Divide(logits, _options.Temperature, p);
        foreach (int b in banned) p[b] = float.NegativeInfinity;
        if (_options.Greedy) return TensorPrimitives.IndexOfMax(p);

        TensorPrimitives.SoftMax(p, p);
        if (_options.TopK <= 0 && _options.TopP >= 1) return Draw(p);
        var order = _order.AsSpan(0, v);
        for (int i = 0; i < v; i++) order[i] = i;
        // Sort ids by descending probability (ties by id, for determinism).
        order.Sort(new ByProbabilityDescending(_probs));
        int k = v;
        if (_options.TopK > 0) k = Math.Min(k, _options.TopK);
        if (_options.TopP < 1)
        {
            double cum = 0;
            for (int i = 0; i < k; i++)
            {
                cum += p[order[i]];
                if (cum >= _options.TopP) { k = i + 1; break; }
            }
        }
        double total = 0;
        for (int i = 0; i < k; i++) total += p[order[i]];
        double r = _rng.NextDouble() * total, acc = 0;
        for (int i = 0; i < k; i++)
        {
            acc += p[order[i]];
            if (r < acc) return order[i];
        }
        // Rounding left r at the very top: the last token with any probability.
        for (int i = k - 1; i >= 0; i--)
            if (p[order[i]] > 0) return order[i];
        return order[0];
    }

    /// <summary>A draw from every token in id order: the sums and the choice of the sorted path with the identity order.</summary>
    private int Draw(ReadOnlySpan<float> p)
    {
        double total = 0;
        for (int i = 0; i < p.Length; i++) total += p[i];
        double r = _rng.NextDouble() * total, acc = 0;
        for (int i = 0; i < p.Length; i++)
        {
            acc += p[i];
            if (r < acc) return i;
        }
        for (int i = p.Length - 1; i >= 0; i--)
            if (p[i] > 0) return i;
        return 0;
    }

    private readonly struct ByProbabilityDescending(float[] probs) : IComparer<int>
    {
        public int Compare(int a, int b) => probs[a] != probs[b] ? probs[b].CompareTo(probs[a]) : a.CompareTo(b);
    }
}
