using System.Numerics.Tensors;

namespace RnnLm.Generation;

/// <summary>Log-probabilities from a row of logits (the model's full softmax, padding included, as training and eval use it).</summary>
internal static class LogProbabilities
{
    /// <summary>log Σ exp(logits), computed with scratch (at least logits.Length values) so nothing is allocated.</summary>
    public static double LogSumExp(ReadOnlySpan<float> logits, Span<float> scratch)
    {
        float max = TensorPrimitives.Max(logits);
        var s = scratch.Slice(0, logits.Length);
        TensorPrimitives.Subtract(logits, max, s);
        TensorPrimitives.Exp(s, s);
        return max + Math.Log(TensorPrimitives.Sum(s));
    }
}
