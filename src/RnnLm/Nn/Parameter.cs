using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>A learnable tensor and its gradient, of the same shape.</summary>
public sealed class Parameter
{
    public Tensor Value { get; }
    public Tensor Grad { get; }

    /// <summary>Whether weight decay applies (PyTorch applies it to every parameter by default).</summary>
    public bool Decay { get; set; } = true;

    public Parameter(params int[] shape)
    {
        Value = new Tensor(shape);
        Grad = new Tensor(shape);
    }

    public int Length => Value.Length;
    public int[] Shape => Value.Shape;
    public void ZeroGrad() => Grad.Clear();
}
