namespace RnnLm.Tensors;

/// <summary>Which operands of C = op(A)·op(B) are stored transposed (N: as is, T: transposed).</summary>
public enum GemmVariant
{
    /// <summary>C[m,n] = A[m,k] · B[k,n].</summary>
    NN,
    /// <summary>C[m,n] = A[m,k] · B[n,k]ᵀ.</summary>
    NT,
    /// <summary>C[m,n] = A[k,m]ᵀ · B[k,n].</summary>
    TN,
}
