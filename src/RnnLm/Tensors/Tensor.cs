namespace RnnLm.Tensors;

/// <summary>A dense, row-major float32 tensor: a flat array and a shape.</summary>
public sealed class Tensor
{
    public float[] Data { get; }
    public int[] Shape { get; }
    public int Length => Data.Length;

    public Tensor(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long n = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] <= 0)
                throw new ArgumentException($"shape[{i}] must be positive, got {shape[i]}.", nameof(shape));
            n *= shape[i];
        }
        if (n > Array.MaxLength)
            throw new ArgumentException($"a tensor of {n} elements is too large.", nameof(shape));
        Shape = (int[])shape.Clone();
        Data = new float[n];
    }

    public int Rank => Shape.Length;
    public int Dim(int i) => Shape[i];
    public Span<float> Span => Data;
    public void Clear() => Array.Clear(Data);

    public override string ToString() => $"Tensor[{string.Join(",", Shape)}]";
}
