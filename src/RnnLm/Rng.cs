namespace RnnLm;

/// <summary>
/// A small, fast, seedable random number generator (xoshiro256**, seeded through SplitMix64) whose whole
/// state can be saved and restored, so that a resumed run draws the same numbers as one that never stopped.
/// </summary>
public sealed class Rng
{
    private State _state;

    /// <summary>The generator's 256 bits; Next is one step of xoshiro256**.</summary>
    private struct State
    {
        public ulong S0, S1, S2, S3;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public ulong Next()
        {
            ulong result = ulong.RotateLeft(S1 * 5, 7) * 9;
            ulong t = S1 << 17;
            S2 ^= S0; S3 ^= S1; S1 ^= S2; S0 ^= S3;
            S2 ^= t;
            S3 = ulong.RotateLeft(S3, 45);
            return result;
        }
    }

    public Rng(ulong seed)
    {
        ulong x = seed;
        _state = new State { S0 = SplitMix(ref x), S1 = SplitMix(ref x), S2 = SplitMix(ref x), S3 = SplitMix(ref x) };
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextULong() => _state.Next();

    /// <summary>
    /// Fills dest with the next dest.Length numbers, the same as calling NextULong that many times; faster, as the
    /// state stays in registers.
    /// </summary>
    public void Fill(Span<ulong> dest)
    {
        var state = _state;
        for (int i = 0; i < dest.Length; i++) dest[i] = state.Next();
        _state = state;
    }

    /// <summary>A float uniform in [0, 1), from 24 random bits.</summary>
    public float NextFloat() => (NextULong() >> 40) * (1f / (1 << 24));

    /// <summary>A double uniform in [0, 1), from 53 random bits.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>An integer uniform in [0, n).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentException($"n must be positive, got {n}.", nameof(n));
        return (int)((NextULong() >> 32) * (ulong)n >> 32);
    }

    /// <summary>Shuffles a span in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    public ulong[] GetState() => [_state.S0, _state.S1, _state.S2, _state.S3];

    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4) throw new ArgumentException($"state must have 4 words, got {state.Length}.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0) throw new ArgumentException("state must not be all zero.", nameof(state));
        _state = new State { S0 = state[0], S1 = state[1], S2 = state[2], S3 = state[3] };
    }
}
