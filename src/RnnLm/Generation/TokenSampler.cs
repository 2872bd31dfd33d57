using System.Numerics.Tensors;

namespace RnnLm.Generation;

/// <summary>Picks the next token from a row of logits. Owns its scratch buffers: sampling allocates nothing.</summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private readonly Rng _rng;
    private float[] _probs = [];
    private int[] _order = [];
    private double[] _blocks = [];

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

        // Unnormalised weights exp(l - max), in (0, 1], with FastMath's exp (the same bits on every kernel path);
        // the draws below compare against u·Σ, so dividing by the sum is not needed.
        float max = TensorPrimitives.Max(p);
        if (!float.IsFinite(max)) return TensorPrimitives.IndexOfMax(p);
        TensorPrimitives.Subtract(p, max, p);
        RnnLm.Tensors.FastMath.Exp(p, p);
        foreach (int b in banned) p[b] = 0f;
        if (_options.TopK <= 0 && _options.TopP >= 1) return Draw(p);
        var order = _order.AsSpan(0, v);
        for (int i = 0; i < v; i++) order[i] = i;
        // Sort ids by descending probability (ties by id, for determinism).
        order.Sort(new ByProbabilityDescending(_probs));
        int k = v;
        if (_options.TopK > 0) k = Math.Min(k, _options.TopK);
        if (_options.TopP < 1)
        {
            double all = 0, cum = 0;
            foreach (float w in p) all += w;
            double bound = _options.TopP * all;
            for (int i = 0; i < k; i++)
            {
                cum += p[order[i]];
                if (cum >= bound) { k = i + 1; break; }
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

    /// <summary>Weights per block of the whole-vocabulary draw.</summary>
    private const int Block = 8;

    /// <summary>
    /// A draw from every token by the inverse of the cumulative sum in id order, taken a block at a time: the block
    /// sums (each a fixed tree of 8, in double) and their running total, then the running sum inside the block that
    /// passes u·total, so the search skips whole blocks. The order is fixed, the same for any vector width and
    /// thread count.
    /// </summary>
    private int Draw(ReadOnlySpan<float> p)
    {
        int v = p.Length, blocks = v / Block;
        if (_blocks.Length < blocks) _blocks = new double[blocks];
        double total = 0;
        for (int b = 0; b < blocks; b++)
        {
            var q = p.Slice(b * Block, Block);
            double s = (((double)q[0] + q[1]) + ((double)q[2] + q[3])) + (((double)q[4] + q[5]) + ((double)q[6] + q[7]));
            _blocks[b] = s;
            total += s;
        }
        for (int i = blocks * Block; i < v; i++) total += p[i];
        double r = _rng.NextDouble() * total, acc = 0;
        for (int b = 0; b < blocks; b++)
        {
            double next = acc + _blocks[b];
            if (r < next)
            {
                double inner = acc;
                for (int i = b * Block; i < (b + 1) * Block; i++)
                {
                    inner += p[i];
                    if (r < inner) return i;
                }
            }
            acc = next;
        }
        for (int i = blocks * Block; i < v; i++)
        {
            acc += p[i];
            if (r < acc) return i;
        }
        // Rounding left r at the very top: the last token with any probability.
        for (int i = v - 1; i >= 0; i--)
            if (p[i] > 0) return i;
        return 0;
    }

    private readonly struct ByProbabilityDescending(float[] probs) : IComparer<int>
    {
        public int Compare(int a, int b) => probs[a] != probs[b] ? probs[b].CompareTo(probs[a]) : a.CompareTo(b);
    }
}
