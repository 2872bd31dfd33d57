using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace RnnLm.Tensors;

/// <summary>Element-wise kernels that TensorPrimitives has no single call for.</summary>
public static class Kernels
{
    /// <summary>g[i] *= 1 - h[i]² (the derivative of tanh, given its output h).</summary>
    public static void MultiplyByTanhDerivative(Span<float> g, ReadOnlySpan<float> h)
    {
        if (g.Length != h.Length) throw new ArgumentException($"g has {g.Length} elements, h has {h.Length}.", nameof(h));
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var gv = MemoryMarshal.Cast<float, Vector<float>>(g);
            var hv = MemoryMarshal.Cast<float, Vector<float>>(h);
            for (int k = 0; k < gv.Length; k++)
                gv[k] *= Vector<float>.One - hv[k] * hv[k];
            i = gv.Length * Vector<float>.Count;
        }
        for (; i < g.Length; i++)
            g[i] *= 1f - h[i] * h[i];
    }

    /// <summary>sums[j] += Σ_r m[r, j] for a row-major [rows, cols] matrix.</summary>
    public static void AddColumnSums(ReadOnlySpan<float> m, int rows, int cols, Span<float> sums)
    {
        if (m.Length < (long)rows * cols) throw new ArgumentException($"m has {m.Length} elements, needs {(long)rows * cols}.", nameof(m));
        if (sums.Length != cols) throw new ArgumentException($"sums has {sums.Length} elements, expected {cols}.", nameof(sums));
        for (int r = 0; r < rows; r++)
            TensorPrimitives.Add(sums, m.Slice(r * cols, cols), sums);
    }

    /// <summary>Adds the vector b to every row of a row-major [rows, cols] matrix.</summary>
    public static void AddRowVector(Span<float> m, int rows, int cols, ReadOnlySpan<float> b)
    {
        if (b.Length != cols) throw new ArgumentException($"b has {b.Length} elements, expected {cols}.", nameof(b));
        for (int r = 0; r < rows; r++)
        {
            var row = m.Slice(r * cols, cols);
            TensorPrimitives.Add(row, b, row);
        }
    }
}
