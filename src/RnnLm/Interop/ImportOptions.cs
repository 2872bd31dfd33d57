using RnnLm.Training;

namespace RnnLm.Interop;

/// <summary>
/// How to take weights that another framework wrote (a file without RnnLm's metadata): which tokenizer the
/// vocabulary is for ("auto": char when every token but &lt;pad&gt; and &lt;unk&gt; is one character, else word),
/// and how eval reads text with the model (sentences, the book's, or stream).
/// </summary>
public sealed record ImportOptions
{
    public string Tokenizer { get; init; } = "auto";
    public DataMode Mode { get; init; } = DataMode.Sentences;
}
