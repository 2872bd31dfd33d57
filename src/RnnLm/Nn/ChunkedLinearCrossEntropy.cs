using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// The output layer and the loss fused: for a block of rows at a time it computes the logits, the softmax, the
/// loss and the logits' gradient in one buffer, then the head's weight, bias and input gradients, so the
/// [rows, vocabulary] logits tensor is never materialised whole.
/// </summary>
public sealed class ChunkedLinearCrossEntropy
{
    private float[] _chunk = [];

    /// <summary>Rows per block: 256 rows of a 32k vocabulary are 32 MB.</summary>
    public int ChunkRows { get; }

    public ChunkedLinearCrossEntropy(int chunkRows = 256)
    {
        Check.Positive(chunkRows, nameof(chunkRows));
        ChunkRows = chunkRows;
    }

    /// <summary>
    /// Sum of the per-row losses over rows whose target is not ignored. With backward, adds scale·d(sum)/dθ to the
    /// head's gradients and writes scale·d(sum)/dx into dx ([rows, InFeatures]).
    /// </summary>
    public double Run(SgemmEngine gemm, Linear head, CrossEntropyLoss loss, int rows, ReadOnlySpan<float> x,
        ReadOnlySpan<int> targets, bool backward, float scale, Span<float> dx)
    {
        int V = head.OutFeatures, H = head.InFeatures;
        Check.Length(x, (long)rows * H, nameof(x));
        Check.Length(targets, rows, nameof(targets));
        if (backward) Check.Length(dx, (long)rows * H, nameof(dx));
        int block = Math.Min(ChunkRows, rows);
        if (_chunk.Length < block * V) _chunk = new float[block * V];
        double sum = 0;
        for (int r0 = 0; r0 < rows; r0 += block)
        {
            int n = Math.Min(block, rows - r0);
            var logits = _chunk.AsSpan(0, n * V);
            var xs = x.Slice(r0 * H, n * H);
            head.Forward(gemm, n, xs, logits);
            for (int r = 0; r < n; r++)
            {
                int t = targets[r0 + r];
                var row = logits.Slice(r * V, V);
                if (t == loss.IgnoreIndex) row.Clear();
                else sum += CrossEntropyLoss.RowLossAndGradient(row, t, scale, row);
            }
            if (backward) head.Backward(gemm, n, xs, logits, dx.Slice(r0 * H, n * H));
        }
        return sum;
    }
}
