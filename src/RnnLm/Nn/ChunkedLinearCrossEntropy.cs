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
/// With more than two threads each lane has a share of them (the first (T+1)/2, the second T/2): its multiplies run
/// split by slices and rows, its softmax rows split by rows, and the bias gradient is added by slices, row after row
/// in order, so the bits are still those of one thread.
/// A block of logits is stored in vocabulary slices of <see cref="SgemmKernels.SliceWidth"/> columns, each slice a
/// contiguous [rows, SliceWidth] matrix: the weight gradient then reads G one contiguous slice at a time instead of
/// a short piece of every row, and the input gradient reads the same slice while it is still in cache
/// (docs/results.md has the measurements).
/// </summary>
public sealed unsafe class ChunkedLinearCrossEntropy : IDisposable
{
    private const int Lanes = 2;
    private readonly SgemmEngine[] _gemm;
    private readonly WorkerTeam?[] _rowTeams;
    private readonly LaneBlock[] _laneBlocks = [new(), new()];
    private readonly float[][] _chunk = [[], []];
    private float[] _dW1 = [], _db1 = [];
    private readonly double[] _loss = new double[Lanes];
    private readonly LaneWorker? _worker;
    // The halves of the call that InTwo runs at once, made once so that a call allocates nothing.
    private readonly Action _runLane0, _runLane1, _packLogits, _packInputGrad, _addFirstHalf, _addSecondHalf;
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
        // Lane 0 runs on the caller with workers 2.., lane 1 on worker 1 with the workers after lane 0's.
        int a = (threads + 1) / 2, b = Math.Max(1, threads / 2);
        _gemm = [new SgemmEngine(a, firstWorker: 2), new SgemmEngine(b, firstWorker: a + 1)];
        _rowTeams = [a > 1 ? new WorkerTeam(a, t => RowsPart(0, t), 2) : null, b > 1 ? new WorkerTeam(b, t => RowsPart(1, t), a + 1) : null];
        _runLane0 = () => RunLane(0);
        _runLane1 = () => RunLane(1);
        _addFirstHalf = () => AddWeightGradient(0, _addHalf);
        _addSecondHalf = () => AddWeightGradient(_addHalf, _addEnd);
        _packLogits = () => PackWeight(forLogits: true);
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
        int block = BlockRows(rows, V);
        Reserve(V, H, block, backward);
        fixed (float* px = x, pdx = dx)
        fixed (int* pt = targets)
        {
            _head = head; _criterion = loss; _x = px; _dx = pdx; _targets = pt;
            _rows = rows; _block = block; _blocks = (rows + block - 1) / block; _split = (_blocks + 1) / 2;
            _backward = backward; _scale = scale;
            if (backward) InTwo(_packLogits, _packInputGrad);
            else PackWeight(forLogits: true);
            if (_blocks > 1) InTwo(_runLane0, _runLane1);
            else { RunLane(0); RunLane(1); }
            _head = null; _criterion = null; _x = null; _dx = null; _targets = null;
        }
        if (backward && _blocks > _split) AddSecondLaneGradients(head, V, H);
        return _loss[0] + _loss[1];
    }

    /// <summary>
    /// Rows per block: at most maxRows, as equal as possible and an even number of blocks, so the two lanes get the
    /// same work. The blocks depend on the rows only, never on the thread count.
    /// </summary>
    private int BlockRows(int rows, int V)
    {
        int maxRows = ChunkRows ?? (int)Math.Clamp(BlockBytes / (4L * V), 64, 4096);
        int perLane = (rows + 2 * maxRows - 1) / (2 * maxRows);
        return (rows + 2 * perLane - 1) / (2 * perLane);
    }

    /// <summary>Grows the lanes' logits buffers and the second lane's gradient accumulators (the bias one cleared).</summary>
    private void Reserve(int V, int H, int block, bool backward)
    {
        long chunk = (long)SgemmKernels.SliceCount(V) * block * SliceWidth;
        for (int l = 0; l < Lanes; l++)
            if (_chunk[l].Length < chunk) _chunk[l] = new float[chunk];
        if (!backward) return;
        // The second lane's first block overwrites _dW1, so it needs no clearing.
        if (_dW1.Length < V * H) { _dW1 = new float[V * H]; _db1 = new float[V]; }
        Array.Clear(_db1, 0, V);
    }

    /// <summary>
    /// Runs both: second on the worker while first runs here, when there is a worker and no one else has it;
    /// otherwise first, then second, here. The two must not depend on each other.
    /// </summary>
    private void InTwo(Action first, Action second)
    {
        if (_worker != null && _worker.TryStart(second))
        {
            try { first(); }
            finally { _worker.Wait(); }
        }
        else
        {
            first();
            second();
        }
    }

    /// <summary>Adds the second lane's weight and bias gradients to the head's (the first lane's), the weight in two halves.</summary>
    private void AddSecondLaneGradients(Linear head, int V, int H)
    {
        _headWeightGrad = head.Weight.Grad.Data;
        _addHalf = V / 2 * H;
        _addEnd = V * H;
        InTwo(_addFirstHalf, _addSecondHalf);
        _headWeightGrad = [];
        var b = head.Bias.Grad.Data.AsSpan(0, V);
        System.Numerics.Tensors.TensorPrimitives.Add(b, _db1.AsSpan(0, V), b);
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
                if (_rowTeams[lane] is WorkerTeam team && n > 1)
                {
                    sum = RowsInParallel(lane, team, r0, n, stride, pchunk, pb, pdb, sum);
                }
                else for (int r = 0; r < n; r++)
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

    /// <summary>A lane's block in progress, for the parts of its rows.</summary>
    private sealed class LaneBlock
    {
        public int R0, N, Stride, Parts, Phase;
        public float* Chunk, Bias, DBias;
        public double[] Loss = [];
        public float[] Probability = [];
    }

    /// <summary>
    /// The softmax rows of one block on the lane's team: the rows split in parts (loss and scaled target probability
    /// kept per row), then the bias gradient added by slices, row after row in order, with the target's element
    /// added as <see cref="FastMath.SegmentedRow"/> adds it; returns sum plus the block's losses, added row by row.
    /// </summary>
    private double RowsInParallel(int lane, WorkerTeam team, int r0, int n, int stride, float* chunk, float* bias, float* dbias, double sum)
    {
        var lb = _laneBlocks[lane];
        if (lb.Loss.Length < n) { lb.Loss = new double[n]; lb.Probability = new float[n]; }
        lb.R0 = r0; lb.N = n; lb.Stride = stride; lb.Chunk = chunk; lb.Bias = bias; lb.DBias = dbias;
        lb.Phase = 0;
        lb.Parts = Math.Min(team.Threads, n);
        team.Run(lb.Parts);
        if (_backward)
        {
            lb.Phase = 1;
            lb.Parts = Math.Min(team.Threads, SgemmKernels.SliceCount(_head!.OutFeatures));
            team.Run(lb.Parts);
        }
        int ignore = _criterion!.IgnoreIndex;
        for (int r = 0; r < n; r++)
            if (_targets[r0 + r] != ignore) sum += lb.Loss[r];
        return sum;
    }

    private void RowsPart(int lane, int t)
    {
        var lb = _laneBlocks[lane];
        int V = _head!.OutFeatures, ignore = _criterion!.IgnoreIndex;
        if (lb.Phase == 0)
        {
            int from = (int)((long)lb.N * t / lb.Parts), to = (int)((long)lb.N * (t + 1) / lb.Parts);
            for (int r = from; r < to; r++)
            {
                int target = _targets[lb.R0 + r];
                if (target == ignore)
                {
                    for (int v0 = 0, sl = 0; v0 < V; v0 += SliceWidth, sl++)
                        new Span<float>(lb.Chunk + sl * lb.Stride + r * SliceWidth, Math.Min(SliceWidth, V - v0)).Clear();
                    continue;
                }
                fixed (float* pp = &lb.Probability[r])
                    lb.Loss[r] = FastMath.SegmentedRow(lb.Chunk + r * SliceWidth, lb.Stride, SliceWidth, V, lb.Bias, target, _backward,
                        _scale, null, pp);
            }
            return;
        }
        // Phase 1: dbias over the slices [s0, s1), the rows in order.
        int slices = SgemmKernels.SliceCount(V);
        int s0 = (int)((long)slices * t / lb.Parts), s1 = (int)((long)slices * (t + 1) / lb.Parts);
        for (int r = 0; r < lb.N; r++)
        {
            int target = _targets[lb.R0 + r];
            if (target == ignore) continue;
            int ts = target / SliceWidth;
            for (int sl = s0; sl < s1; sl++)
            {
                int v0 = sl * SliceWidth, w = Math.Min(SliceWidth, V - v0);
                float* g = lb.Chunk + sl * lb.Stride + r * SliceWidth;
                var d = new Span<float>(lb.DBias + v0, w);
                if (sl != ts)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(d, new ReadOnlySpan<float>(g, w), d);
                    continue;
                }
                // The target's element as the row kernel adds it: (d + scale·p) - scale, not d + (scale·p - scale).
                int k = target - v0;
                float final = g[k];
                g[k] = lb.Probability[r];
                System.Numerics.Tensors.TensorPrimitives.Add(d, new ReadOnlySpan<float>(g, w), d);
                d[k] -= _scale;
                g[k] = final;
            }
        }
    }

    /// <summary>Frees the lanes' engines and buffers (the shared worker thread stays for other callers).</summary>
    public void Dispose()
    {
        foreach (var g in _gemm) g.Dispose();
        _laneBlocks[0].Loss = _laneBlocks[1].Loss = [];
        _wLogits.Dispose();
        _wInputGrad.Dispose();
    }
}
