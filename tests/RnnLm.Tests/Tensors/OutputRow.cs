using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

/// <summary>The output layer's row kernel on one contiguous row (the library calls it on segmented rows only).</summary>
internal static class OutputRow
{
    /// <summary>
    /// row ← row + bias (logits); returns -log softmax(row)[target]. With gradient, row ← scale·(softmax(row) - onehot(target))
    /// and dbias += that row (dbias may be empty). An empty bias adds nothing.
    /// </summary>
    public static double SoftmaxCrossEntropyRow(Span<float> row, ReadOnlySpan<float> bias, int target, bool gradient, float scale,
        Span<float> dbias)
    {
        int n = row.Length;
        if (!bias.IsEmpty && bias.Length != n) throw new ArgumentException($"bias has {bias.Length} elements, the row {n}.", nameof(bias));
        if ((uint)target >= (uint)n) throw new ArgumentException($"target {target} is outside [0, {n}).", nameof(target));
        if (!dbias.IsEmpty && dbias.Length != n) throw new ArgumentException($"dbias has {dbias.Length} elements, the row {n}.", nameof(dbias));
        unsafe
        {
            fixed (float* pr = row, pb = bias, pd = dbias)
                return FastMath.SegmentedRow(pr, 0, n, n, bias.IsEmpty ? null : pb, target, gradient, scale, dbias.IsEmpty ? null : pd);
        }
    }
}
