using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using RnnLm.Tensors;

namespace RnnLm.Nn;

/// <summary>
/// The output layer and the loss fused: for a block of rows at a time it computes the logits, the softmax, the
/// loss and the logits' gradient in one buffer, then the head's weight, bias and input gradients, so the
/// [rows, vocabulary] logits tensor is never materialised whole.
/// The blocks are shared between two lanes (the first half of the blocks, the second half), each with its own
/// buffers and weight-gradient accumulator; the second lane's weight gradient is added to the first's at the end.
/// A lane runs its blocks one after the other, each in three phases cut into pieces: the logits (a piece is a group
/// of vocabulary slices), the softmax rows (a group of rows), and the gradients (a group of slices: their bias and
/// weight gradients, and the group's share of the input gradient, added up in group order at the end of the block).
/// Every thread takes pieces as it frees up, first from its own lane (thread t's is t mod 2), then from the other
/// one, so a core that runs slower (another machine's load on it) holds up nobody. Whoever takes a piece computes
/// it whole, and the pieces depend on the rows and the vocabulary only, so the result is the same bits whatever the
/// number of threads and whoever ran what. The weight is packed for the kernel once per call (one copy for the
/// logits, one for the input gradient), and every piece reads those copies.
/// A block of logits is stored in vocabulary slices of <see cref="SgemmKernels.SliceWidth"/> columns, each slice a
/// contiguous [rows, SliceWidth] matrix: the weight gradient then reads G one contiguous slice at a time instead of
/// a short piece of every row, and the input gradient reads the same slice while it is still in cache
/// (docs/results.md has the measurements).
/// </summary>
public sealed unsafe class ChunkedLinearCrossEntropy : IDisposable
{
    private const int Lanes = 2;
    /// <summary>Vocabulary slices in a piece of the logits and of the gradients, and rows in a piece of the softmax.</summary>
    private const int SlicesPerPiece = 8, RowsPerPiece = 24;
    private const int SliceWidth = SgemmKernels.SliceWidth;
    private const int LogitsPhase = 0, SoftmaxPhase = 1, GradientsPhase = 2;

    private readonly Lane[] _lanes = [new(), new()];
    private readonly SgemmBuffers[] _threadBuffers;
    private readonly WorkerTeam? _team;
    private readonly LaneWorker? _worker;
    // The halves of the call that InTwo runs at once, made once so that a call allocates nothing.
    private readonly Action _packLogits, _packInputGrad, _addFirstHalf, _addSecondHalf;
    private int _addHalf, _addEnd;
    private float[] _headWeightGrad = [];
    private float[] _dW1 = [], _db1 = [];
    private readonly PackedMatrix _wLogits = new(), _wInputGrad = new();
    private int _failed;

    // The call in progress, for the pieces (spans cannot be kept in fields, so pinned pointers are).
    private Linear? _head;
    private float* _x, _dx, _bias, _packedWT, _packedW;
    private int* _targets;
    private int _rows, _block, _V, _H, _ignore;
    // The vocabulary's slices, and the groups of SlicesPerPiece of them that the logits and gradients pieces take.
    private int _slices, _groups;
    private bool _backward;
    private float _scale;

    /// <summary>The logits of one block take at most this many bytes (one block per lane at a time).</summary>
    public const long BlockBytes = 64L << 20;

    /// <summary>The most rows per block given at construction, or null to derive it from the vocabulary size.</summary>
    public int? ChunkRows { get; }

    /// <param name="threads">1 runs every piece on the calling thread; more also on that many - 1 shared workers.</param>
    /// <param name="chunkRows">The most rows per block; null: as many as fit in <see cref="BlockBytes"/>
    /// (between 64 and 4096), which is 524 rows for a 32k vocabulary and 1677 for 10k.</param>
    public ChunkedLinearCrossEntropy(int threads = 1, int? chunkRows = null)
    {
        Check.Positive(threads, nameof(threads));
        if (chunkRows is int c) Check.Positive(c, nameof(chunkRows));
        ChunkRows = chunkRows;
        _threadBuffers = new SgemmBuffers[threads];
        for (int t = 0; t < threads; t++) _threadBuffers[t] = new SgemmBuffers();
        if (threads > 1)
        {
            _team = new WorkerTeam(threads, Work);
            _worker = LaneWorker.Shared(1);
        }
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
    /// head's gradients and writes scale·d(sum)/dx into dx ([rows, InFeatures]). No rows: 0, and nothing changes.
    /// </summary>
    public double Run(SgemmEngine gemm, Linear head, CrossEntropyLoss loss, int rows, ReadOnlySpan<float> x,
        ReadOnlySpan<int> targets, bool backward, float scale, Span<float> dx)
    {
        int V = head.OutFeatures, H = head.InFeatures;
        Check.NonNegative(rows, nameof(rows));
        Check.Length(x, (long)rows * H, nameof(x));
        Check.Length(targets, rows, nameof(targets));
        if (backward) Check.Length(dx, (long)rows * H, nameof(dx));
        if (rows == 0) return 0;
        int block = BlockRows(rows, V);
        int blocks = (rows + block - 1) / block, split = (blocks + 1) / 2;
        _slices = SgemmKernels.SliceCount(V);
        _groups = (_slices + SlicesPerPiece - 1) / SlicesPerPiece;
        Reserve(V, H, block, backward);
        _head = head;
        if (backward) InTwo(_packLogits, _packInputGrad);
        else PackWeight(forLogits: true);
        fixed (float* px = x, pdx = dx, pbias = head.Bias.Value.Data, pdW = head.Weight.Grad.Data, pdb = head.Bias.Grad.Data)
        fixed (float* pdW1 = _dW1, pdb1 = _db1)
        fixed (int* pt = targets)
        {
            _x = px; _dx = pdx; _bias = pbias; _targets = pt; _packedWT = _wLogits.Data; _packedW = _wInputGrad.Data;
            _rows = rows; _block = block; _V = V; _H = H; _ignore = loss.IgnoreIndex;
            _backward = backward; _scale = scale; _failed = 0;
            _lanes[0].Begin(0, split, pdW, pdb);
            _lanes[1].Begin(split, blocks, pdW1, pdb1);
            try
            {
                foreach (var lane in _lanes) StartBlock(lane, _threadBuffers[0], Close(lane));
                if (_team is null) Work(0);
                else _team.Run(_team.Threads);
            }
            finally
            {
                _x = _dx = _bias = _packedWT = _packedW = null;
                _targets = null;
                foreach (var lane in _lanes) lane.End();
            }
        }
        if (backward && blocks > split) AddSecondLaneGradients(head, V, H);
        _head = null;
        return _lanes[0].Sum + _lanes[1].Sum;
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

    /// <summary>Grows the lanes' buffers and the second lane's gradient accumulators (the bias one cleared).</summary>
    private void Reserve(int V, int H, int block, bool backward)
    {
        foreach (var lane in _lanes)
        {
            lane.Reserve((long)_slices * block * SliceWidth, block, backward ? (long)(_groups - 1) * block * H : 0);
            lane.Packed.Ensure((long)SgemmKernels.RoundUp(block, SgemmKernels.MR) * H, backward ? SgemmKernels.PackedBFloats(H, block) : 0);
        }
        foreach (var buf in _threadBuffers) buf.Ensure(SgemmKernels.GradientScratchFloats(block), 0);
        if (!backward) return;
        // The second lane's first block overwrites _dW1, so it needs no clearing.
        if (_dW1.Length < V * H) { _dW1 = new float[V * H]; _db1 = new float[V]; }
        Array.Clear(_db1, 0, V);
    }

    /// <summary>
    /// What thread t does: pieces of its own lane while there are any, else of the other lane, until both lanes are
    /// through their blocks. A piece that fails stops every thread (the team rethrows the failure).
    /// </summary>
    private void Work(int t)
    {
        var buf = _threadBuffers[t];
        Lane own = _lanes[t % Lanes], other = _lanes[(t + 1) % Lanes];
        var spin = new SpinWait();
        try
        {
            while (Volatile.Read(ref _failed) == 0)
            {
                if (TryPiece(own, buf) || TryPiece(other, buf)) { spin.Reset(); continue; }
                if (Volatile.Read(ref own.Finished) && Volatile.Read(ref other.Finished)) return;
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        catch
        {
            Volatile.Write(ref _failed, 1);
            throw;
        }
    }

    /// <summary>
    /// Takes and runs the lane's next piece, if its phase has one left; the thread that finishes a phase's last piece
    /// moves the lane on. Returns false when there was nothing to take.
    /// </summary>
    private bool TryPiece(Lane lane, SgemmBuffers buf)
    {
        long claim = Volatile.Read(ref lane.Counters.Claim);
        int piece = (int)claim;
        if (piece >= Volatile.Read(ref lane.Pieces)) return false;
        // A claim word is only ever replaced by one of a later phase, so a stale read fails here.
        if (Interlocked.CompareExchange(ref lane.Counters.Claim, claim + 1, claim) != claim) return true;
        RunPiece(lane, piece, buf);
        if (Interlocked.Increment(ref lane.Counters.Done) == lane.Pieces) Advance(lane, buf);
        return true;
    }

    private void RunPiece(Lane lane, int piece, SgemmBuffers buf)
    {
        if (lane.Phase == SoftmaxPhase)
        {
            SoftmaxRows(lane, piece * RowsPerPiece, Math.Min(lane.N, (piece + 1) * RowsPerPiece));
            return;
        }
        int s0 = piece * SlicesPerPiece, s1 = Math.Min(_slices, s0 + SlicesPerPiece);
        if (lane.Phase == LogitsPhase)
        {
            SgemmKernels.LogitsSlices(buf.Tile, lane.Packed.A, lane.N, _V, _H, _packedWT, lane.Chunk, lane.Stride, s0, s1);
            return;
        }
        // The first group's share of the input gradient goes straight to dx, the others' to the lane's partials.
        float* dx = piece == 0 ? _dx + (long)lane.R0 * _H : lane.Partials + (long)(piece - 1) * lane.N * _H;
        bool accumulateDW = lane == _lanes[0] || lane.Block > lane.First;
        for (int sl = s0; sl < s1; sl++)
        {
            float* gs = lane.Chunk + sl * lane.Stride;
            SgemmKernels.OutputGradientsSlice(buf, lane.N, _V, _H, gs, sl, lane.Packed.B, _packedW, lane.DW, _H, accumulateDW,
                dx, _H, overwriteDx: sl == s0);
            // After the multiplies, which brought the slice into L2.
            AddBiasGradient(lane, sl, gs);
        }
    }

    /// <summary>
    /// The thread that finished the phase's last piece: closes the claim word, sets up the next phase (or block,
    /// with the serial ends of a block: the input gradient's groups added in order, the losses row by row), opens it.
    /// </summary>
    private void Advance(Lane lane, SgemmBuffers buf)
    {
        long next = Close(lane);
        if (lane.Phase == LogitsPhase) Open(lane, SoftmaxPhase, (lane.N + RowsPerPiece - 1) / RowsPerPiece, next);
        else if (lane.Phase == SoftmaxPhase && _backward) Open(lane, GradientsPhase, _groups, next);
        else
        {
            if (_backward)
            {
                var dx = new Span<float>(_dx + (long)lane.R0 * _H, lane.N * _H);
                for (int gi = 1; gi < _groups; gi++)
                    TensorPrimitives.Add(dx, new ReadOnlySpan<float>(lane.Partials + (long)(gi - 1) * lane.N * _H, lane.N * _H), dx);
            }
            for (int r = 0; r < lane.N; r++)
                if (_targets[lane.R0 + r] != _ignore) lane.Sum += lane.Loss[r];
            lane.Block++;
            StartBlock(lane, buf, next);
        }
    }

    /// <summary>Replaces the lane's claim word by a closed one of the next phase number (no piece can be taken); returns that number.</summary>
    private static long Close(Lane lane)
    {
        long next = (Volatile.Read(ref lane.Counters.Claim) >> 32) + 1;
        Interlocked.Exchange(ref lane.Counters.Claim, (next << 32) | int.MaxValue);
        return next;
    }

    /// <summary>Packs the rows of X of the lane's block and opens its logits phase as number epoch; or, past its last block, marks the lane finished.</summary>
    private void StartBlock(Lane lane, SgemmBuffers buf, long epoch)
    {
        if (lane.Block >= lane.EndBlock)
        {
            Volatile.Write(ref lane.Finished, true);
            return;
        }
        lane.R0 = lane.Block * _block;
        lane.N = Math.Min(_block, _rows - lane.R0);
        lane.Stride = lane.N * SliceWidth;
        float* x = _x + (long)lane.R0 * _H;
        SgemmKernels.PackLogitsInput(lane.Packed, lane.N, _H, x, _H);
        if (_backward) SgemmKernels.PackB(false, _H, lane.N, x, _H, lane.Packed.B);
        Open(lane, LogitsPhase, _groups, epoch);
    }

    private static void Open(Lane lane, int phase, int pieces, long epoch)
    {
        lane.Phase = phase;
        lane.Counters.Done = 0;
        Volatile.Write(ref lane.Pieces, pieces);
        Volatile.Write(ref lane.Counters.Claim, epoch << 32);
    }

    /// <summary>
    /// The softmax rows [r0, r1) of the lane's block: each row's loss, and with backward its gradient in place and
    /// its scaled target probability (for <see cref="AddBiasGradient"/>); an ignored row is cleared.
    /// </summary>
    private void SoftmaxRows(Lane lane, int r0, int r1)
    {
        for (int r = r0; r < r1; r++)
        {
            int target = _targets[lane.R0 + r];
            if (target == _ignore)
            {
                for (int v0 = 0, sl = 0; v0 < _V; v0 += SliceWidth, sl++)
                    new Span<float>(lane.Chunk + sl * lane.Stride + r * SliceWidth, Math.Min(SliceWidth, _V - v0)).Clear();
                continue;
            }
            fixed (float* pp = &lane.Probability[r])
                lane.Loss[r] = FastMath.SegmentedRow(lane.Chunk + r * SliceWidth, lane.Stride, SliceWidth, _V, _bias, target,
                    _backward, _scale, null, _backward ? pp : null);
        }
    }

    /// <summary>
    /// dbias of slice sl (its gradient rows at gs) += the block's rows, in row order, with each target's element
    /// added as <see cref="FastMath.SegmentedRow"/> adds it when it writes dbias itself: (d + scale·p) - scale.
    /// </summary>
    private void AddBiasGradient(Lane lane, int sl, float* gs)
    {
        int v0 = sl * SliceWidth, w = Math.Min(SliceWidth, _V - v0);
        float* d = lane.DBias + v0;
        // Runs of rows with nothing special go through AddRows; an ignored row is skipped, a row whose target is in
        // this slice is added alone.
        int run = 0;
        for (int r = 0; r < lane.N; r++)
        {
            int target = _targets[lane.R0 + r];
            if (target != _ignore && target / SliceWidth != sl) continue;
            if (run < r) FastMath.AddRows(d, gs + run * SliceWidth, SliceWidth, r - run, w);
            run = r + 1;
            if (target == _ignore) continue;
            float* g = gs + r * SliceWidth;
            int k = target - v0;
            float final = g[k];
            g[k] = lane.Probability[r];
            FastMath.AddRows(d, g, SliceWidth, 1, w);
            d[k] -= _scale;
            g[k] = final;
        }
        if (run < lane.N) FastMath.AddRows(d, gs + run * SliceWidth, SliceWidth, lane.N - run, w);
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
        TensorPrimitives.Add(b, _db1.AsSpan(0, V), b);
    }

    private void AddWeightGradient(int from, int to)
    {
        var w = _headWeightGrad.AsSpan(from, to - from);
        TensorPrimitives.Add(w, _dW1.AsSpan(from, to - from), w);
    }

    /// <summary>The claim word (phase number, next piece) and the count of finished pieces, on a cache line of their own.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct LaneCounters
    {
        [FieldOffset(64)] public long Claim;
        [FieldOffset(72)] public int Done;
    }

    /// <summary>A lane: its blocks, the one in progress, and its buffers (pinned, so pieces keep pointers to them).</summary>
    private sealed class Lane
    {
        public LaneCounters Counters;
        public int Pieces, Phase, First, Block, EndBlock, R0, N, Stride;
        public bool Finished;
        public double Sum;
        public readonly SgemmBuffers Packed = new();
        public float* Chunk, Partials, DW, DBias;
        public double[] Loss = [];
        public float[] Probability = [];
        private float[] _chunk = [], _partials = [];

        public void Reserve(long chunkFloats, int rows, long partialFloats)
        {
            if (_chunk.Length < chunkFloats) _chunk = GC.AllocateUninitializedArray<float>(checked((int)chunkFloats), pinned: true);
            if (_partials.Length < partialFloats) _partials = GC.AllocateUninitializedArray<float>(checked((int)partialFloats), pinned: true);
            if (Loss.Length < rows) { Loss = new double[rows]; Probability = new float[rows]; }
        }

        public void Begin(int first, int end, float* dW, float* dbias)
        {
            First = Block = first;
            EndBlock = end;
            Finished = false;
            Sum = 0;
            DW = dW;
            DBias = dbias;
            Chunk = (float*)Marshal.UnsafeAddrOfPinnedArrayElement(_chunk, 0);
            Partials = _partials.Length == 0 ? null : (float*)Marshal.UnsafeAddrOfPinnedArrayElement(_partials, 0);
        }

        public void End() => DW = DBias = Chunk = Partials = null;

        public void Dispose()
        {
            Packed.Dispose();
            _chunk = _partials = [];
            Loss = [];
            Probability = [];
        }
    }

    /// <summary>Frees the lanes' buffers (the shared worker threads stay for other callers).</summary>
    public void Dispose()
    {
        foreach (var lane in _lanes) lane.Dispose();
        foreach (var buf in _threadBuffers) buf.Dispose();
        _wLogits.Dispose();
        _wInputGrad.Dispose();
    }
}
