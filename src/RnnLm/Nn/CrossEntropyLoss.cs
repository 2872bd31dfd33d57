namespace RnnLm.Nn;

/// <summary>
/// The loss's target rules: cross-entropy of softmax(logits) against target ids, averaged over the targets that are
/// not ignoreIndex (PyTorch's CrossEntropyLoss(ignore_index=...)). The loss itself is computed by the fused head,
/// <see cref="ChunkedLinearCrossEntropy"/>, which reads IgnoreIndex from here.
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
}
