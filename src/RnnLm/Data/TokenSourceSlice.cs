namespace RnnLm.Data;

/// <summary>A contiguous part of another <see cref="TokenSource"/> (see <see cref="TokenSource.Slice"/>).</summary>
public sealed class TokenSourceSlice : TokenSource
{
    private readonly TokenSource _inner;
    private readonly long _start;
    private readonly long _length;

    internal TokenSourceSlice(TokenSource inner, long start, long length)
    {
        _inner = inner;
        _start = start;
        _length = length;
    }

    /// <inheritdoc/>
    public override long Length => _length;

    /// <inheritdoc/>
    public override ReadOnlySpan<int> GetSpan(long start, int length)
    {
        CheckRange(start, length);
        return _inner.GetSpan(_start + start, length);
    }
}
