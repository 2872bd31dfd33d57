namespace RnnLm.Generation;

/// <summary>
/// One finished generation: the text after the prompt (cut before a stop sequence), the tokens generated, why it
/// ended, its log-probability under the model (natural log, sum over the generated tokens, before any
/// temperature), and the temperature and seed it was drawn with.
/// </summary>
public sealed record GenerationResult(string Text, int Tokens, FinishReason Finish, double LogProb, float Temperature, ulong Seed);
