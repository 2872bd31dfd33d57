namespace RnnLm.Generation;

/// <summary>A possible next token: its id, its text (as the tokenizer prints it) and its probability.</summary>
public sealed record TokenCandidate(int Id, string Text, double Probability);
