namespace RnnLm.Nn;

/// <summary>
/// The sizes of a recurrent language model. Dropout applies (in training) to the embeddings, between layers and
/// before the head. TieWeights shares the embedding table with the head's weight; where HiddenDim ≠ EmbDim a
/// projection [HiddenDim → EmbDim] comes before the head. WeightDropout drops elements of every recurrent
/// matrix, Elman's Uh or the gated cells' weight_hh (DropConnect, as AWD-LSTM's weight drop): one mask per layer and forward pass, shared by all steps
/// and sequences of the batch. Cell chooses the recurrent layer (Elman, the book's, by default; a checkpoint
/// without it is an Elman model).
/// </summary>
public sealed record ModelConfig(int VocabSize, int EmbDim, int HiddenDim, int NumLayers, int PadIndex = 0,
    float Dropout = 0f, bool TieWeights = false, float WeightDropout = 0f, CellType Cell = CellType.Elman)
{

    /// <summary>
    /// The number of distinct parameter values a model of this config has (a tied weight once), computed from the
    /// sizes alone, so a checkpoint's header can be checked against its tensors before anything is allocated.
    /// </summary>
    /// <exception cref="OverflowException">The sizes are too large to count.</exception>
    public long ParameterCount()
    {
        long V = VocabSize, E = EmbDim, H = HiddenDim, G = Cell switch { CellType.Gru => 3, CellType.Lstm => 4, _ => 1 };
        checked
        {
            long n = V * E;
            for (int l = 0; l < NumLayers; l++)
            {
                long input = l == 0 ? E : H;
                n += Cell == CellType.Elman ? input * H + H * H + H : G * H * (input + H) + 2 * G * H;
            }
            n += TieWeights ? (H != E ? H * E + E : 0) + V : H * V + V;
            return n;
        }
    }

    /// <summary>Throws an ArgumentException naming the first size that makes no sense.</summary>
    public void Validate()
    {
        Check.Positive(VocabSize, nameof(VocabSize));
        Check.Positive(EmbDim, nameof(EmbDim));
        Check.Positive(HiddenDim, nameof(HiddenDim));
        Check.Positive(NumLayers, nameof(NumLayers));
        if (PadIndex < 0 || PadIndex >= VocabSize)
            throw new ArgumentException($"PadIndex must be in [0, {VocabSize}), got {PadIndex}.", nameof(PadIndex));
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentException($"Dropout must be in [0, 1), got {Dropout}.", nameof(Dropout));
        if (!Enum.IsDefined(Cell))
            throw new ArgumentException($"Cell must be elman, gru or lstm, got {(int)Cell}.", nameof(Cell));
        if (!(WeightDropout >= 0 && WeightDropout < 1))
            throw new ArgumentException($"WeightDropout must be in [0, 1), got {WeightDropout}.", nameof(WeightDropout));
    }
}
