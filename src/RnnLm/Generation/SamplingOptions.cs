namespace RnnLm.Generation;

/// <summary>
/// How the next token is chosen from the logits: greedy (the most likely), or sampled from softmax(logits / T)
/// restricted to the TopK most likely tokens and/or the smallest set whose probability reaches TopP.
/// </summary>
public sealed record SamplingOptions(bool Greedy = false, float Temperature = 1f, int TopK = 0, float TopP = 1f)
{
    public void Validate()
    {
        if (!(Temperature > 0) || float.IsInfinity(Temperature))
            throw new ArgumentException($"Temperature must be a positive number, got {Temperature}.", nameof(Temperature));
        if (TopK < 0) throw new ArgumentException($"TopK must be 0 (off) or positive, got {TopK}.", nameof(TopK));
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"TopP must be in (0, 1], got {TopP}.", nameof(TopP));
    }
}
