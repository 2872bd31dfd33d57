using RnnLm.Data;

namespace RnnLm.Generation;

/// <summary>
/// Everything that shapes one generation: how many tokens, how the next token is chosen (greedy, or sampled at a
/// temperature within top-k / top-p, with a repetition penalty; or a beam search), when to stop, and the seed.
/// Errors name these properties (ArgumentException.ParamName), so an app can map them to its own fields.
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>The most beams a search keeps.</summary>
    public const int MaxBeam = 64;

    /// <summary>How many tokens to generate at most (0 or more).</summary>
    public int MaxTokens { get; init; } = 200;
    /// <summary>Always take the most likely token.</summary>
    public bool Greedy { get; init; }
    /// <summary>Sampling temperature (&gt; 0): logits are divided by it before the softmax.</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Sample among the k most likely tokens (0: all).</summary>
    public int TopK { get; init; }
    /// <summary>Sample among the most likely tokens whose probabilities add up to p, in (0, 1].</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>The sampling seed: the same seed, prompt and options give the same text.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Texts that end the generation where they first appear; the text returned stops before them.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>
    /// Divides the positive logits (multiplies the negative ones) of every token already in the prompt or the output
    /// by this factor before sampling (CTRL's penalty; 1: off, above 1 discourages repeats).
    /// </summary>
    public float RepetitionPenalty { get; init; } = 1f;
    /// <summary>Beam width: 1 samples (or takes the greedy path); above 1 a deterministic beam search keeps this many hypotheses.</summary>
    public int Beam { get; init; } = 1;
    /// <summary>The beam's length normalisation α: hypotheses are ranked by log-probability / tokens^α (0: none, 1: mean per token).</summary>
    public float LengthPenalty { get; init; } = 1f;
    /// <summary>Characters of the prompt that the vocabulary lacks: refused (the default), skipped or replaced.</summary>
    public UnknownHandling Unknown { get; init; } = UnknownHandling.Error;

    /// <summary>The token-choosing part of these options.</summary>
    public SamplingOptions Sampling => new(Greedy, Temperature, TopK, TopP);

    /// <summary>Throws an ArgumentException naming the property that is out of range.</summary>
    public void Validate()
    {
        if (MaxTokens < 0) throw new ArgumentException($"{nameof(MaxTokens)} must be 0 or more, got {MaxTokens}.", nameof(MaxTokens));
        Sampling.Validate();
        if (Stop is null) throw new ArgumentException($"{nameof(Stop)} must be a list (empty for none).", nameof(Stop));
        for (int i = 0; i < Stop.Count; i++)
            if (string.IsNullOrEmpty(Stop[i])) throw new ArgumentException($"{nameof(Stop)}[{i}] is empty; a stop sequence needs at least one character.", nameof(Stop));
        if (!(RepetitionPenalty > 0) || float.IsInfinity(RepetitionPenalty))
            throw new ArgumentException($"{nameof(RepetitionPenalty)} must be a positive number (1: off), got {RepetitionPenalty}.", nameof(RepetitionPenalty));
        if (Beam < 1 || Beam > MaxBeam) throw new ArgumentException($"{nameof(Beam)} must be in [1, {MaxBeam}], got {Beam}.", nameof(Beam));
        if (!(LengthPenalty >= 0) || float.IsInfinity(LengthPenalty))
            throw new ArgumentException($"{nameof(LengthPenalty)} must be a finite number of at least 0, got {LengthPenalty}.", nameof(LengthPenalty));
        if (!Enum.IsDefined(Unknown)) throw new ArgumentException($"{nameof(Unknown)} must be Error, Skip or Replace, got {Unknown}.", nameof(Unknown));
    }
}
