namespace RnnLm.Generation;

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>It produced MaxTokens tokens.</summary>
    Length,
    /// <summary>A stop sequence appeared.</summary>
    Stop,
}
