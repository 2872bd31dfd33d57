namespace RnnLm.Tensors;

/// <summary>
/// Single-precision matrix multiply on row-major storage, C (+)= op(A)·op(B), on one or more threads.
/// The result does not depend on the number of threads (bit for bit).
/// PLACEHOLDER: a naive loop until the packed SIMD kernel lands.
/// </summary>
public sealed class SgemmEngine : IDisposable
{
    public int Threads { get; }

    public SgemmEngine(int threads = 1)
    {
        if (threads < 1) throw new ArgumentException($"threads must be at least 1, got {threads}.", nameof(threads));
        Threads = threads;
    }

    /// <summary>
    /// C[m,n] = op(A)·op(B) (accumulate: C += op(A)·op(B)). lda, ldb, ldc are the row strides of A, B, C as stored:
    /// A is [m,k] (NN, NT) or [k,m] (TN); B is [k,n] (NN, TN) or [n,k] (NT).
    /// </summary>
    public void Multiply(GemmVariant variant, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = variant == GemmVariant.TN ? a[p * lda + i] : a[i * lda + p];
                    float bv = variant == GemmVariant.NT ? b[j * ldb + p] : b[p * ldb + j];
                    s += av * bv;
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
            }
    }

    public void Dispose() { }
}
