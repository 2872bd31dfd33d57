namespace RnnLm.Nn;

/// <summary>
/// A learnable lookup table [vocabSize, dim]. The padding row is zero, is looked up as zero and never
/// receives a gradient (PyTorch's padding_idx).
/// </summary>
public sealed class Embedding : Module
{
    public int VocabSize { get; }
    public int Dim { get; }
    public int PaddingIndex { get; }
    public Parameter Weight { get; }

    public Embedding(int vocabSize, int dim, int paddingIndex)
    {
        Check.Positive(vocabSize, nameof(vocabSize));
        Check.Positive(dim, nameof(dim));
        if (paddingIndex < 0 || paddingIndex >= vocabSize)
            throw new ArgumentException($"paddingIndex must be in [0, {vocabSize}), got {paddingIndex}.", nameof(paddingIndex));
        VocabSize = vocabSize;
        Dim = dim;
        PaddingIndex = paddingIndex;
        Weight = AddParameter("weight", new Parameter(vocabSize, dim));
    }

    /// <summary>Zeroes the padding row (after an initialiser has filled the table).</summary>
    public void ZeroPaddingRow() => Weight.Value.Data.AsSpan(PaddingIndex * Dim, Dim).Clear();

    /// <summary>output[i, :] = weight[ids[i], :] for every id; output has ids.Length rows of Dim.</summary>
    public void Forward(ReadOnlySpan<int> ids, Span<float> output)
    {
        Check.Length(output, ids.Length * Dim, nameof(output));
        var w = Weight.Value.Data;
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)VocabSize)
                throw new ArgumentException($"token id {id} at position {i} is outside the vocabulary [0, {VocabSize}).", nameof(ids));
            w.AsSpan(id * Dim, Dim).CopyTo(output.Slice(i * Dim, Dim));
        }
    }

    /// <summary>Adds dOutput's rows into the gradient rows of their ids (a sparse update); the padding row gets none.</summary>
    public void Backward(ReadOnlySpan<int> ids, ReadOnlySpan<float> dOutput)
    {
        Check.Length(dOutput, ids.Length * Dim, nameof(dOutput));
        var g = Weight.Grad.Data;
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if (id == PaddingIndex) continue;
            var row = g.AsSpan(id * Dim, Dim);
            System.Numerics.Tensors.TensorPrimitives.Add(row, dOutput.Slice(i * Dim, Dim), row);
        }
    }
}
