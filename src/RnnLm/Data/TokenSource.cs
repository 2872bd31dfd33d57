namespace RnnLm.Data;

/// <summary>
/// A read-only sequence of token ids that may be larger than memory (see
/// <see cref="TokenIdFile"/>) or a plain array (<see cref="ArrayTokenSource"/>).
/// Reads must be safe from several threads.
/// </summary>
public abstract class TokenSource
{
    /// <summary>Number of tokens.</summary>
    public abstract long Length { get; }

    /// <summary>A view of <paramref name="length"/> tokens from <paramref name="start"/>; valid while the source is alive.</summary>
    public abstract ReadOnlySpan<int> GetSpan(long start, int length);

    /// <summary>A view of part of this source.</summary>
    public TokenSource Slice(long start, long length)
    {
        if (start < 0 || length < 0 || start + length > Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {start + length}) is outside 0..{Length}.");
        return new TokenSourceSlice(this, start, length);
    }

    /// <summary>Copies all tokens to an array (only for sources that fit in memory).</summary>
    public int[] ToArray()
    {
        if (Length > Array.MaxLength) throw new InvalidOperationException($"{Length} tokens do not fit in an array.");
        var result = new int[Length];
        const int chunk = 1 << 20;
        for (long i = 0; i < Length; i += chunk)
        {
            int n = (int)Math.Min(chunk, Length - i);
            GetSpan(i, n).CopyTo(result.AsSpan((int)i, n));
        }
        return result;
    }

    /// <summary>Checks the range of a <see cref="GetSpan"/> call.</summary>
    protected void CheckRange(long start, int length)
    {
        if (start < 0 || length < 0 || start + length > Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"Range [{start}, {start + length}) is outside 0..{Length}.");
    }
}
