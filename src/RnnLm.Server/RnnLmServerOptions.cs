namespace RnnLm.Server;

/// <summary>The limits the endpoints enforce; a request beyond one gets a 4xx JSON error naming the field.</summary>
public sealed record RnnLmServerOptions
{
    /// <summary>The largest request body, in bytes (413 beyond).</summary>
    public int MaxBodyBytes { get; init; } = 1 << 20;
    /// <summary>The largest max_tokens a request may ask for.</summary>
    public int MaxTokens { get; init; } = 4096;
    /// <summary>Generations, scorings and candidate look-ups running at once; more get 429 with Retry-After.</summary>
    public int MaxSessions { get; init; } = 16;
    /// <summary>The Retry-After (seconds) of a 429.</summary>
    public int RetryAfterSeconds { get; init; } = 1;
    /// <summary>The most candidates /v1/candidates returns.</summary>
    public int MaxCandidates { get; init; } = 50;
    /// <summary>Serve the playground page at /.</summary>
    public bool Playground { get; init; } = true;

    public void Validate()
    {
        if (MaxBodyBytes < 1) throw new ArgumentException($"{nameof(MaxBodyBytes)} must be positive, got {MaxBodyBytes}.", nameof(MaxBodyBytes));
        if (MaxTokens < 1) throw new ArgumentException($"{nameof(MaxTokens)} must be positive, got {MaxTokens}.", nameof(MaxTokens));
        if (MaxSessions < 1) throw new ArgumentException($"{nameof(MaxSessions)} must be positive, got {MaxSessions}.", nameof(MaxSessions));
        if (RetryAfterSeconds < 0) throw new ArgumentException($"{nameof(RetryAfterSeconds)} must be 0 or more, got {RetryAfterSeconds}.", nameof(RetryAfterSeconds));
        if (MaxCandidates < 1) throw new ArgumentException($"{nameof(MaxCandidates)} must be positive, got {MaxCandidates}.", nameof(MaxCandidates));
    }
}
