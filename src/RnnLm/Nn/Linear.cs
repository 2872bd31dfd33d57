using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>y = x·Wᵀ + b with W [outFeatures, inFeatures] (PyTorch's layout) and b [outFeatures].</summary>
public sealed class Linear : Module
{
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }

    public Linear(int inFeatures, int outFeatures)
    {
        Check.Positive(inFeatures, nameof(inFeatures));
        Check.Positive(outFeatures, nameof(outFeatures));
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = AddParameter("weight", new Parameter(outFeatures, inFeatures));
        Bias = AddParameter("bias", new Parameter(outFeatures));
    }

    /// <summary>A layer whose weight is another module's parameter [outFeatures, inFeatures] (weight tying).</summary>
    public Linear(Parameter sharedWeight)
    {
        ArgumentNullException.ThrowIfNull(sharedWeight);
        if (sharedWeight.Shape.Length != 2) throw new ArgumentException("a shared weight must be a matrix.", nameof(sharedWeight));
        OutFeatures = sharedWeight.Shape[0];
        InFeatures = sharedWeight.Shape[1];
        Weight = AddParameter("weight", sharedWeight);
        Bias = AddParameter("bias", new Parameter(OutFeatures));
    }

    /// <summary>x: [rows, InFeatures]; y: [rows, OutFeatures].</summary>
    public void Forward(SgemmEngine gemm, int rows, ReadOnlySpan<float> x, Span<float> y)
    {
        Check.Length(x, (long)rows * InFeatures, nameof(x));
        Check.Length(y, (long)rows * OutFeatures, nameof(y));
        gemm.Multiply(GemmVariant.NT, rows, OutFeatures, InFeatures, x, InFeatures, Weight.Value.Data, InFeatures, y, OutFeatures, accumulate: false);
        Kernels.AddRowVector(y, rows, OutFeatures, Bias.Value.Data);
    }

    /// <summary>Adds dW = dyᵀ·x and db = Σ dy; writes dx = dy·W (if dx is not empty).</summary>
    public void Backward(SgemmEngine gemm, int rows, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Check.Length(x, (long)rows * InFeatures, nameof(x));
        Check.Length(dy, (long)rows * OutFeatures, nameof(dy));
        gemm.Multiply(GemmVariant.TN, OutFeatures, InFeatures, rows, dy, OutFeatures, x, InFeatures, Weight.Grad.Data, InFeatures, accumulate: true);
        Kernels.AddColumnSums(dy, rows, OutFeatures, Bias.Grad.Data);
        if (!dx.IsEmpty)
        {
            Check.Length(dx, (long)rows * InFeatures, nameof(dx));
            gemm.Multiply(GemmVariant.NN, rows, InFeatures, OutFeatures, dy, OutFeatures, Weight.Value.Data, InFeatures, dx, InFeatures, accumulate: false);
        }
    }
}
