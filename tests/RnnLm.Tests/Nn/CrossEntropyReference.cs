using System.Numerics.Tensors;
using RnnLm.Nn;
using RnnLm.Tests.Tensors;

namespace RnnLm.Tests.Nn;

/// <summary>
/// The loss over materialised logits, row by row with the output layer's row kernel: the reference the gradient
/// checks use. The library computes the loss only in the fused head (ChunkedLinearCrossEntropy).
/// </summary>
internal static class CrossEntropyReference
{
    /// <summary>
    /// The mean loss over logits [rows, classes]. If dLogits is not empty it receives the gradient of that mean
    /// (it may be the logits span itself). When every target is ignored the loss and gradient are zero.
    /// </summary>
    public static float Forward(this CrossEntropyLoss loss, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, Span<float> dLogits)
    {
        int rows = targets.Length;
        Check.Length(logits, (long)rows * classes, nameof(logits));
        if (!dLogits.IsEmpty) Check.Length(dLogits, (long)rows * classes, nameof(dLogits));
        int count = loss.CountTargets(targets, classes);
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
            if (targets[r] == loss.IgnoreIndex)
            {
                if (!dLogits.IsEmpty) dLogits.Slice(r * classes, classes).Clear();
                continue;
            }
            sum += dLogits.IsEmpty ? RowLoss(row, targets[r]) : RowLossAndGradient(row, targets[r], scale, dLogits.Slice(r * classes, classes));
        }
        return (float)(sum / count);
    }

    /// <summary>-log softmax(row)[target], summed in double.</summary>
    private static double RowLoss(ReadOnlySpan<float> row, int target)
    {
        float max = TensorPrimitives.Max(row);
        double s = 0;
        foreach (float v in row) s += MathF.Exp(v - max);
        return Math.Log(s) + max - row[target];
    }

    /// <summary>-log softmax(row)[target], and grad = scale·(softmax(row) - onehot(target)) by the output layer's row kernel.</summary>
    private static double RowLossAndGradient(ReadOnlySpan<float> row, int target, float scale, Span<float> grad)
    {
        row.CopyTo(grad);
        return OutputRow.SoftmaxCrossEntropyRow(grad, default, target, gradient: true, scale, default);
    }
}
