namespace RnnLm.Nn;

/// <summary>The sizes of a recurrent language model.</summary>
public sealed record ModelConfig(int VocabSize, int EmbDim, int HiddenDim, int NumLayers, int PadIndex = 0)
{
    /// <summary>Throws an ArgumentException naming the first size that makes no sense.</summary>
    public void Validate()
    {
        Check.Positive(VocabSize, nameof(VocabSize));
        Check.Positive(EmbDim, nameof(EmbDim));
        Check.Positive(HiddenDim, nameof(HiddenDim));
        Check.Positive(NumLayers, nameof(NumLayers));
        if (PadIndex < 0 || PadIndex >= VocabSize)
            throw new ArgumentException($"PadIndex must be in [0, {VocabSize}), got {PadIndex}.", nameof(PadIndex));
    }
}
