using System.Runtime.InteropServices;

namespace RnnLm.Tensors;

/// <summary>
/// The right-hand operand of a multiply, op(B) [k, n], packed once into the panels the SGEMM kernel reads, so
/// that several multiplies by the same matrix (the output layer's weight, block after block of rows) skip the
/// packing. Native memory, grown on demand and reused. Read-only once packed: several engines may use it at once.
/// </summary>
public sealed unsafe class PackedMatrix : IDisposable
{
    private float* _data;
    private long _capacity;

    /// <summary>Columns of op(B).</summary>
    public int N { get; private set; }

    /// <summary>Rows of op(B) (the inner dimension of the multiply).</summary>
    public int K { get; private set; }

    /// <summary>Whether B was stored [n, k] (used as Bᵀ, the NT variant) rather than [k, n] (NN, TN).</summary>
    public bool Transposed { get; private set; }

    /// <summary>Packed by <see cref="PackSliced"/>: for the output layer's input gradient (<see cref="SgemmKernels.OutputGradientsSlice"/>) only.</summary>
    public bool Sliced { get; private set; }

    internal float* Data => _data;

    /// <summary>
    /// Packs op(B): B stored [n, k] with row stride ldb when transposed, else [k, n]. Replaces earlier contents.
    /// </summary>
    public void Pack(bool transposed, int n, int k, ReadOnlySpan<float> b, int ldb) => Pack(transposed, sliced: false, n, k, b, ldb);

    /// <summary>
    /// Packs B [k, n] (row-major, row stride ldb) for <see cref="SgemmKernels.OutputGradientsSlice"/>: the output layer's
    /// weight for the input gradient, its k dimension (the vocabulary) in slices of <see cref="SgemmKernels.SliceWidth"/>.
    /// </summary>
    public void PackSliced(int n, int k, ReadOnlySpan<float> b, int ldb) => Pack(transposed: false, sliced: true, n, k, b, ldb);

    private void Pack(bool transposed, bool sliced, int n, int k, ReadOnlySpan<float> b, int ldb)
    {
        ObjectDisposedException.ThrowIf(_capacity < 0, this);
        Check.Positive(n, nameof(n));
        Check.Positive(k, nameof(k));
        int rows = transposed ? n : k, cols = transposed ? k : n;
        if (ldb < cols) throw new ArgumentException($"ldb must be at least {cols}, got {ldb}.", nameof(ldb));
        long need = (long)(rows - 1) * ldb + cols;
        if (b.Length < need) throw new ArgumentException($"b has {b.Length} elements, needs at least {need}.", nameof(b));
        long floats = SgemmKernels.PackedBFloats(n, k);
        if (floats > _capacity)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
            _capacity = 0;
            _data = (float*)NativeMemory.AlignedAlloc((nuint)floats * sizeof(float), 64);
            _capacity = floats;
        }
        fixed (float* pb = b)
        {
            if (sliced) SgemmKernels.PackBSliced(n, k, pb, ldb, _data);
            else SgemmKernels.PackB(transposed, n, k, pb, ldb, _data);
        }
        N = n; K = k; Transposed = transposed; Sliced = sliced;
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_data);
        _data = null;
        _capacity = -1;
        GC.SuppressFinalize(this);
    }

    ~PackedMatrix() => NativeMemory.AlignedFree(_data);
}
