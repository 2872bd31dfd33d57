namespace RnnLm.Data;

/// <summary>Options for <see cref="TokenizerFactory.Build"/>.</summary>
public sealed record TokenizerOptions
{
    /// <summary>Word tokenizer: cap on the vocabulary size (special tokens included); null for no cap.</summary>
    public int? MaxVocab { get; init; }

    /// <summary>Word tokenizer: minimum number of occurrences for a word to get its own id.</summary>
    public int MinCount { get; init; } = 1;

    /// <summary>Word tokenizer: append &lt;eos&gt; after each line.</summary>
    public bool AppendEos { get; init; } = true;

    /// <summary>Character tokenizer: reserve an unknown id instead of rejecting unseen characters.</summary>
    public bool CharUnknown { get; init; }
}
