using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// The output layer and the loss fused: for a block of rows at a time it computes the logits, the softmax, the
/// loss and the logits' gradient in one buffer, then the head's weight, bias and input gradients, so the
/// [rows, vocabulary] logits tensor is never materialised whole.
/// The blocks are shared between two lanes (the first half of the blocks, the second half), each with its own
/// single-threaded GEMM, buffers and weight-gradient accumulator; with two threads the lanes run at once. The
/// second lane's weight gradient is added to the first's at the end, so the result is the same bits whatever
/// the number of threads. The weight is packed for the kernel once per call (one copy for the logits, one for the
/// input gradient), and every block of both lanes reads those copies instead of packing it again.
/// A block of logits is stored in vocabulary slices of <see cref="SgemmKernels.SliceWidth"/> columns, each slice a
/// contiguous [rows, SliceWidth] matrix: the weight gradient then reads G one contiguous slice at a time instead of
/// a short piece of every row (which ran at a third of the memory's speed), and the input gradient reads the same
/// slice while it is still in cache. At the book sizes this took the training step from 568 to 527 ms.
/// </summary>
public sealed unsafe class ChunkedLinearCrossEntropy : IDisposable
{
    private const int Lanes = 2;
    private readonly SgemmEngine[] _gemm = [new SgemmEngine(1), new SgemmEngine(1)];
    private readonly float[][] _chunk = [[], []];
    private float[] _dW1 = [], _db1 = [];
    private readonly double[] _loss = new double[Lanes];
    private readonly LaneWorker? _worker;
    private readonly Action _runLane1, _packInputGrad, _addSecondHalf;
    private int _addHalf, _addEnd;
    private float[] _headWeightGrad = [];
    private readonly PackedMatrix _wLogits = new(), _wInputGrad = new();

    // The call in progress, for the lanes (spans cannot be kept in fields, so pinned pointers are).
    private Linear? _head;
    private CrossEntropyLoss? _criterion;
    private float* _x, _dx;
    private int* _targets;
    private int _rows, _block, _blocks, _split;
    private bool _backward;
    private float _scale;

    /// <summary>The logits of one block take at most this many bytes (one block per lane at a time).</summary>
    public const long BlockBytes = 64L << 20;

    /// <summary>The most rows per block given at construction, or null to derive it from the vocabulary size.</summary>
    public int? ChunkRows { get; }

    /// <param name="threads">1 runs both lanes on the calling thread; more runs the second lane on a worker.</param>
    /// <param name="chunkRows">The most rows per block; null: as many as fit in <see cref="BlockBytes"/>
    /// (between 64 and 4096), which is 524 rows for a 32k vocabulary and 1677 for 10k.</param>
    public ChunkedLinearCrossEntropy(int threads = 1, int? chunkRows = null)
    {
        Check.Positive(threads, nameof(threads));
        if (chunkRows is int c) Check.Positive(c, nameof(chunkRows));
        ChunkRows = chunkRows;
        if (threads > 1) _worker = LaneWorker.Shared(1);
        _runLane1 = () => RunLane(1);
        _addSecondHalf = () => AddWeightGradient(_addHalf, _addEnd);
        _packInputGrad = () => PackWeight(forLogits: false);
    }

    /// <summary>Packs the head weight [V, H]: as Wᵀ for the logits (x·Wᵀ), or as W for the input gradient (dlogits·W).</summary>
    private void PackWeight(bool forLogits)
    {
        var head = _head!;
        int V = head.OutFeatures, H = head.InFeatures;
        var w = head.Weight.Value.Data.AsSpan(0, V * H);
        if (forLogits) _wLogits.Pack(transposed: true, V, H, w, H);
        else _wInputGrad.PackSliced(H, V, w, H);
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
        // Blocks of at most maxRows rows, as equal as possible and an even number of them, so the two lanes get
        // the same work. The blocks depend on the rows only, never on the thread count.
        int maxRows = ChunkRows ?? (int)Math.Clamp(BlockBytes / (4L * V), 64, 4096);
        int perLane = (rows + 2 * maxRows - 1) / (2 * maxRows);
        int block = (rows + 2 * perLane - 1) / (2 * perLane);
        long chunk = (long)SgemmKernels.SliceCount(V) * block * SliceWidth;
        for (int l = 0; l < Lanes; l++)
            if (_chunk[l].Length < chunk) _chunk[l] = new float[chunk];
        if (backward)
        {
            // The second lane's first block overwrites _dW1, so it needs no clearing.
            if (_dW1.Length < V * H) { _dW1 = new float[V * H]; _db1 = new float[V]; }
            Array.Clear(_db1, 0, V);
        }
        fixed (float* px = x, pdx = dx)
        fixed (int* pt = targets)
        {
            _head = head; _criterion = loss; _x = px; _dx = pdx; _targets = pt;
            _rows = rows; _block = block; _blocks = (rows + block - 1) / block; _split = (_blocks + 1) / 2;
            _backward = backward; _scale = scale;
            // The second thread, when there is one and no one else has it; otherwise the same work in turn here.
            if (backward && _worker != null && _worker.TryStart(_packInputGrad))
            {
                try { PackWeight(forLogits: true); }
                finally { _worker.Wait(); }
            }
            else
            {
                PackWeight(forLogits: true);
                if (backward) PackWeight(forLogits: false);
            }
            if (_blocks > 1 && _worker != null && _worker.TryStart(_runLane1))
            {
                try { RunLane(0); }
                finally { _worker.Wait(); }
            }
            else
            {
                RunLane(0);
                RunLane(1);
            }
            _head = null; _criterion = null; _x = null; _dx = null; _targets = null;
        }
        if (backward && _blocks > _split)
        {
            // Add the second lane's weight gradient to the first's, half of the rows on each thread.
            _headWeightGrad = head.Weight.Grad.Data;
            _addHalf = V / 2 * H;
            _addEnd = V * H;
            if (_worker != null && _worker.TryStart(_addSecondHalf))
            {
                try { AddWeightGradient(0, _addHalf); }
                finally { _worker.Wait(); }
            }
            else AddWeightGradient(0, _addEnd);
            _headWeightGrad = [];
            var b = head.Bias.Grad.Data.AsSpan(0, V);
            System.Numerics.Tensors.TensorPrimitives.Add(b, _db1.AsSpan(0, V), b);
        }
        return _loss[0] + _loss[1];
    }

    private void AddWeightGradient(int from, int to)
    {
        var w = _headWeightGrad.AsSpan(from, to - from);
        System.Numerics.Tensors.TensorPrimitives.Add(w, _dW1.AsSpan(from, to - from), w);
    }

    /// <summary>Lane 0 takes blocks [0, split), lane 1 blocks [split, blocks), in order.</summary>
    private void RunLane(int lane)
    {
        var head = _head!;
        int V = head.OutFeatures, H = head.InFeatures, ignore = _criterion!.IgnoreIndex;
        var gemm = _gemm[lane];
        var dW = lane == 0 ? head.Weight.Grad.Data : _dW1;
        var db = lane == 0 ? head.Bias.Grad.Data : _db1;
        double sum = 0;
        int first = lane == 0 ? 0 : _split, end = lane == 0 ? _split : _blocks;
        var bias = head.Bias.Value.Data;
        fixed (float* pb = bias, pdb = db, pchunk = _chunk[lane])
        {
            for (int blk = first; blk < end; blk++)
            {
                int r0 = blk * _block, n = Math.Min(_block, _rows - r0), stride = n * SliceWidth;
                var logits = _chunk[lane].AsSpan(0, SgemmKernels.SliceCount(V) * stride);
                var xs = new ReadOnlySpan<float>(_x + (long)r0 * H, n * H);
                // The logits in vocabulary slices: slice s holds columns [s·SliceWidth, (s+1)·SliceWidth) as [n, SliceWidth].
                gemm.LogitsSliced(n, xs, H, _wLogits, logits, stride);
                for (int r = 0; r < n; r++)
                {
                    int t = _targets[r0 + r];
                    if (t == ignore)
                    {
                        for (int v0 = 0, sl = 0; v0 < V; v0 += SliceWidth, sl++)
                            logits.Slice(sl * stride + r * SliceWidth, Math.Min(SliceWidth, V - v0)).Clear();
                    }
                    else sum += FastMath.SegmentedRow(pchunk + r * SliceWidth, stride, SliceWidth, V, pb, t, _backward, _scale,
                        _backward ? pdb : null);
                }
                if (!_backward) continue;
                gemm.OutputGradients(n, logits, stride, xs, H, _wInputGrad, dW.AsSpan(0, V * H), H,
                    new Span<float>(_dx + (long)r0 * H, n * H), H, accumulateDx: false, accumulateDW: lane == 0 || blk > first);
            }
        }
        _loss[lane] = sum;
    }

    private const int SliceWidth = SgemmKernels.SliceWidth;


    public void Dispose()
    {
        _worker?.Dispose();
        foreach (var g in _gemm) g.Dispose();
        _wLogits.Dispose();
        _wInputGrad.Dispose();
    }
}
