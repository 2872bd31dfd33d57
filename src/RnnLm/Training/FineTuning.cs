using RnnLm.Data;

namespace RnnLm.Training;

/// <summary>
/// How new text meets a trained model's tokenizer when the model is fine-tuned on it: what to do with characters the
/// vocabulary lacks (a word tokenizer maps unknown words to its unknown token by itself), and which were found.
/// </summary>
public sealed class FineTuning
{
    /// <summary>Refuse the text (the default), skip the characters, or replace them by the unknown token.</summary>
    public UnknownHandling Unknown { get; init; } = UnknownHandling.Error;

    /// <summary>The characters the vocabulary lacked in the training and validation text, filled as they are read.</summary>
    public UnknownCharacters Found { get; } = new();

    internal string Prepare(Tokenizer tokenizer, string text) => tokenizer.Prepare(text, Unknown, Found);
}
