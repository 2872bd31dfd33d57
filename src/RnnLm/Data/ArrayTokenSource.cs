namespace RnnLm.Data;

/// <summary>A <see cref="TokenSource"/> over an in-memory array.</summary>
public sealed class ArrayTokenSource(int[] tokens) : TokenSource
{
    private readonly int[] _tokens = tokens ?? throw new ArgumentNullException(nameof(tokens));

    /// <inheritdoc/>
    public override long Length => _tokens.Length;

    /// <inheritdoc/>
    public override ReadOnlySpan<int> GetSpan(long start, int length)
    {
        CheckRange(start, length);
        return _tokens.AsSpan((int)start, length);
    }
}
