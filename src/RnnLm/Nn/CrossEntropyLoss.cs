using System.Numerics.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// Cross-entropy of softmax(logits) against target ids, averaged over the targets that are not ignoreIndex
/// (PyTorch's CrossEntropyLoss(ignore_index=...)). When every target is ignored the loss and gradient are zero.
/// </summary>
public sealed class CrossEntropyLoss
{
    public int IgnoreIndex { get; }

    public CrossEntropyLoss(int ignoreIndex) => IgnoreIndex = ignoreIndex;

    /// <summary>How many targets count (are not ignored); checks that every id is in [0, classes).</summary>
    public int CountTargets(ReadOnlySpan<int> targets, int classes)
    {
        int n = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            int t = targets[i];
            if ((uint)t >= (uint)classes)
                throw new ArgumentException($"target id {t} at position {i} is outside [0, {classes}).", nameof(targets));
            if (t != IgnoreIndex) n++;
        }
        return n;
    }

    /// <summary>
    /// The mean loss over logits [rows, classes]. If dLogits is not empty it receives the gradient of that mean
    /// (it may be the logits span itself).
    /// </summary>
    public float Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, Span<float> dLogits)
    {
        int rows = targets.Length;
        Check.Length(logits, (long)rows * classes, nameof(logits));
        if (!dLogits.IsEmpty) Check.Length(dLogits, (long)rows * classes, nameof(dLogits));
        int count = CountTargets(targets, classes);
        if (count == 0)
        {
            dLogits.Clear();
            return 0f;
        }
        float scale = 1f / count;
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * classes, classes);
            if (targets[r] == IgnoreIndex)
            {
                if (!dLogits.IsEmpty) dLogits.Slice(r * classes, classes).Clear();
                continue;
            }
            sum += dLogits.IsEmpty ? RowLoss(row, targets[r]) : RowLossAndGradient(row, targets[r], scale, dLogits.Slice(r * classes, classes));
        }
        return (float)(sum / count);
    }

    /// <summary>-log softmax(row)[target].</summary>
    public static double RowLoss(ReadOnlySpan<float> row, int target)
    {
        float max = TensorPrimitives.Max(row);
        double s = 0;
        foreach (float v in row) s += MathF.Exp(v - max);
        return Math.Log(s) + max - row[target];
    }

    /// <summary>
    /// -log softmax(row)[target], and grad = scale·(softmax(row) - onehot(target)). grad may be the row itself.
    /// The output layer's row kernel (FastMath), so the bits are the same on every kernel path.
    /// </summary>
    public static double RowLossAndGradient(ReadOnlySpan<float> row, int target, float scale, Span<float> grad)
    {
        if (grad.Length != row.Length) throw new ArgumentException($"grad has {grad.Length} elements, the row {row.Length}.", nameof(grad));
        row.CopyTo(grad);
        return RnnLm.Tensors.FastMath.SoftmaxCrossEntropyRow(grad, default, target, gradient: true, scale, default);
    }
}
