namespace RnnLm.Generation;

/// <summary>One scored token: its id, its text and its log-probability given what came before (natural log).</summary>
public sealed record TokenScore(int Id, string Text, double LogProb);
