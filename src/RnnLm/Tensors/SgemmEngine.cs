using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("RnnLm.Tests")]

namespace RnnLm.Tensors;

/// <summary>
/// Single-precision matrix multiply on row-major storage, C (+)= op(A)·op(B), on one or more threads.
/// The result does not depend on the number of threads (bit for bit).
/// </summary>
/// <remarks>
/// Cache-blocked and packed (BLIS style) with the micro-kernel of the current kernel path (<see cref="KernelPath"/>).
/// With several threads the larger of M and N is split into independent slices, one per thread; the calling thread
/// runs the first slice and long-lived worker threads the others. Packing buffers are native memory owned by the
/// engine and reused, so a call allocates nothing on the managed heap once warmed up.
/// An engine runs one multiply at a time: do not call <see cref="Multiply"/> concurrently on the same instance.
/// </remarks>
public sealed unsafe class SgemmEngine : IDisposable
{
    /// <summary>Below this many multiply-adds (m·n·k) a call runs on the calling thread only.</summary>
    private const long ParallelThreshold = 64L * 64 * 64;

    private readonly SgemmBuffers _buffers = new();
    private Worker[]? _workers;
    private bool _disposed;

    public int Threads { get; }

    // The row-dot and quantized calls on several threads: a team, and the call in progress.
    private WorkerTeam? _team;
    private int _job, _jobV, _jobH;
    private float* _jobX, _jobB, _jobG;
    private nint _jobStride;
    private bool _jobAccumulate;
    private int _jobParts;

    /// <param name="threads">1 to <see cref="WorkerTeam.MaxThreads"/>.</param>
    public SgemmEngine(int threads = 1)
    {
        if (threads < 1 || threads > WorkerTeam.MaxThreads)
            throw new ArgumentException($"threads must be in 1..{WorkerTeam.MaxThreads}, got {threads}.", nameof(threads));
        Threads = threads;
    }

    /// <summary>
    /// C[m,n] = op(A)·op(B) (accumulate: C += op(A)·op(B)). lda, ldb, ldc are the row strides of A, B, C as stored:
    /// A is [m,k] (NN, NT) or [k,m] (TN); B is [k,n] (NN, TN) or [n,k] (NT).
    /// </summary>
    public void Multiply(GemmVariant variant, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (variant is not (GemmVariant.NN or GemmVariant.NT or GemmVariant.TN))
            throw new ArgumentOutOfRangeException(nameof(variant), variant, $"variant must be NN, NT or TN, got {variant}.");
        if (m < 0) throw new ArgumentException($"m must be non-negative, got {m}.", nameof(m));
        if (n < 0) throw new ArgumentException($"n must be non-negative, got {n}.", nameof(n));
        if (k < 0) throw new ArgumentException($"k must be non-negative, got {k}.", nameof(k));

        int aRows = variant == GemmVariant.TN ? k : m, aCols = variant == GemmVariant.TN ? m : k;
        int bRows = variant == GemmVariant.NT ? n : k, bCols = variant == GemmVariant.NT ? k : n;
        CheckOperand(a.Length, aRows, aCols, lda, nameof(a), nameof(lda));
        CheckOperand(b.Length, bRows, bCols, ldb, nameof(b), nameof(ldb));
        CheckOperand(c.Length, m, n, ldc, nameof(c), nameof(ldc));

        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }

        if (m == 1)
        {
            // One output row (generation, one position): dot products or row updates, no packing. A large NT product
            // (the head: every vocabulary row read once) is split by rows over the threads, which read memory at once.
            if (variant == GemmVariant.NT && Threads > 1 && (long)n * k >= ParallelThreshold)
                RowDotsParallel(n, k, a, b, ldb, c.Slice(0, n), accumulate);
            else
                RowTimesMatrix(variant, n, k, a, lda, b, ldb, c.Slice(0, n), accumulate);
            return;
        }

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            int parts = Threads;
            if (parts > 1 && (long)m * n * k < ParallelThreshold) parts = 1;
            if (parts == 1)
            {
                SgemmKernels.Gemm(_buffers, variant, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
                return;
            }
            RunParallel(parts, variant, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, null);
        }
    }

    /// <summary>
    /// C[m,n] (+)= op(A)·op(B) with op(B) packed beforehand (<see cref="PackedMatrix.Pack"/>): the same bits as the
    /// unpacked call with the same B. variant gives A's layout and must agree with how B was packed (NT for a
    /// transposed B, NN or TN otherwise). With several threads the rows of C are split, or its columns when there are
    /// fewer rows than columns and B is at most NC columns wide.
    /// </summary>
    public void Multiply(GemmVariant variant, int m, ReadOnlySpan<float> a, int lda, PackedMatrix b,
        Span<float> c, int ldc, bool accumulate)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(b);
        if (variant is not (GemmVariant.NN or GemmVariant.NT or GemmVariant.TN))
            throw new ArgumentOutOfRangeException(nameof(variant), variant, $"variant must be NN, NT or TN, got {variant}.");
        if (b.K == 0) throw new ArgumentException("The packed matrix is empty: call Pack first.", nameof(b));
        if (b.Sliced) throw new ArgumentException("This matrix was packed in slices for the output layer's input gradient, not for Multiply.", nameof(b));
        if ((variant == GemmVariant.NT) != b.Transposed)
            throw new ArgumentException($"A {(b.Transposed ? "transposed" : "non-transposed")} packed B does not fit variant {variant}.", nameof(b));
        if (m < 0) throw new ArgumentException($"m must be non-negative, got {m}.", nameof(m));
        int n = b.N, k = b.K;
        CheckOperand(a.Length, variant == GemmVariant.TN ? k : m, variant == GemmVariant.TN ? m : k, lda, nameof(a), nameof(lda));
        CheckOperand(c.Length, m, n, ldc, nameof(c), nameof(ldc));
        if (m == 0) return;

        fixed (float* pa = a)
        fixed (float* pc = c)
        {
            int tiles = (m + SgemmKernels.MR - 1) / SgemmKernels.MR;
            int parts = Math.Min(Threads, tiles);
            if (parts > 1 && (long)m * n * k < ParallelThreshold) parts = 1;
            if (parts == 1)
            {
                SgemmKernels.Gemm(_buffers, variant, m, n, k, pa, lda, null, 0, b.Data, pc, ldc, accumulate);
                return;
            }
            RunParallel(parts, variant, m, n, k, pa, lda, null, 0, pc, ldc, accumulate, b.Data);
        }
    }

    private const int RowDotsJob = 1, QuantizedJob = 2;
    private QuantizedMatrix? _jobQ;
    private int _jobBatch;

    /// <summary>
    /// y = x · qᵀ + bias (<see cref="QuantizedMatrix.MultiplyTransposed"/>), with q's rows split over the threads when
    /// the product is large (a reduced-precision head): each element as on one thread.
    /// </summary>
    internal void MultiplyTransposed(QuantizedMatrix q, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y)
    {
        int parts = Math.Min(Threads, (q.Rows + 3) / 4);
        if (parts < 2 || (long)batch * q.Rows * q.Columns < ParallelThreshold)
        {
            q.MultiplyTransposed(batch, x, bias, y);
            return;
        }
        Check.Length(x, (long)batch * q.Columns, nameof(x));
        if (!bias.IsEmpty) Check.Length(bias, q.Rows, nameof(bias));
        Check.Length(y, (long)batch * q.Rows, nameof(y));
        fixed (float* px = x, pb = bias, py = y)
        {
            _job = QuantizedJob; _jobQ = q; _jobBatch = batch; _jobV = q.Rows; _jobParts = parts;
            _jobX = px; _jobB = pb; _jobG = py;
            try { EnsureTeam().Run(parts); }
            finally { _jobX = _jobB = _jobG = null; _jobQ = null; }
        }
    }

    /// <summary>c[j] (+)= x · row j of b for j in [0, n), the rows split into Threads ranges; each c[j] as on one thread.</summary>
    private void RowDotsParallel(int n, int k, ReadOnlySpan<float> x, ReadOnlySpan<float> b, int ldb, Span<float> c, bool accumulate)
    {
        fixed (float* px = x, pb = b, pc = c)
        {
            _job = RowDotsJob; _jobV = n; _jobH = k; _jobParts = Math.Min(Threads, (n + 3) / 4);
            _jobX = px; _jobB = pb; _jobG = pc; _jobStride = ldb; _jobAccumulate = accumulate;
            try { EnsureTeam().Run(_jobParts); }
            finally { _jobX = _jobB = _jobG = null; }
        }
    }

    /// <summary>
    /// Part t of parts of [0, extent) in whole units (the last unit may be short): parts differ by at most one unit,
    /// and the split depends only on extent, unit and parts, never on which thread runs a part.
    /// </summary>
    private static (int Start, int End) PartRange(int extent, int unit, int t, int parts)
    {
        int units = (extent + unit - 1) / unit;
        return ((int)((long)units * t / parts) * unit, Math.Min(extent, (int)((long)units * (t + 1) / parts) * unit));
    }

    private WorkerTeam EnsureTeam() => _team ??= new WorkerTeam(Threads, RunPart);

    /// <summary>
    /// Part t of the row-dot or quantized call in progress: a range of rows, each computed as on one thread, so the
    /// bits do not depend on the parts.
    /// </summary>
    private void RunPart(int t)
    {
        // Ranges in whole groups of four rows, the unit RowDots and the quantized product work in.
        var (j0, j1) = PartRange(_jobV, 4, t, _jobParts);
        if (j0 >= j1) return;
        if (_job == QuantizedJob) _jobQ!.MultiplyTransposedRows(j0, j1, _jobBatch, _jobX, _jobB, _jobG);
        else RowDots.Floats(_jobX, _jobB + (long)j0 * _jobStride, _jobH, j1 - j0, (int)_jobStride, _jobG + j0, _jobAccumulate);
    }

    /// <summary>c[1, n] (+)= op(a)[1, k] · op(b), on the calling thread whatever the thread count.</summary>
    private static unsafe void RowTimesMatrix(GemmVariant variant, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, Span<float> c, bool accumulate)
    {
        if (variant == GemmVariant.NT)
        {
            fixed (float* px = a, py = b, pc = c)
                RowDots.Floats(px, py, k, n, ldb, pc, accumulate);
            return;
        }
        if (!accumulate) c.Clear();
        for (int p = 0; p < k; p++)
        {
            float ap = variant == GemmVariant.TN ? a[p * lda] : a[p];
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(b.Slice(p * ldb, n), ap, c, c);
        }
    }

    private static void CheckOperand(int length, int rows, int cols, int ld, string name, string ldName)
    {
        if (ld < cols)
            throw new ArgumentException($"{ldName} must be at least {cols} (the row length of {name}), got {ld}.", ldName);
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"{name} has {length} elements, needs at least {need} ({rows} rows of {cols} with stride {ld}).", name);
    }

    /// <summary>
    /// Splits the larger of M and N into slices aligned to the micro-tile; slice 0 runs here, the rest on workers.
    /// A packed B is split by columns only when it is one panel block wide (n ≤ NC): then each thread reads only its
    /// part of B, which matters when B is the size of a core's cache (a recurrent weight with few rows of A).
    /// </summary>
    private void RunParallel(int parts, GemmVariant v, int m, int n, int k,
        float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool accumulate, float* packedB)
    {
        bool splitM = m >= n || (packedB != null && n > SgemmKernels.NC);
        int extent = splitM ? m : n;
        int align = splitM ? SgemmKernels.MR : SgemmKernels.NR;
        int tiles = (extent + align - 1) / align;
        if (parts > tiles) parts = tiles;
        if (parts <= 1)
        {
            SgemmKernels.Gemm(_buffers, v, m, n, k, a, lda, b, ldb, packedB, c, ldc, accumulate);
            return;
        }

        Worker[] workers = EnsureWorkers();
        int start0 = 0, end0 = 0;
        for (int t = 0; t < parts; t++)
        {
            var (start, end) = PartRange(extent, align, t, parts);
            if (t == 0) { start0 = start; end0 = end; continue; }
            Worker w = workers[t - 1];
            w.Variant = v;
            w.K = k;
            w.Lda = lda; w.Ldb = ldb; w.Ldc = ldc;
            w.Accumulate = accumulate;
            w.PackedB = packedB;
            w.PackedCol0 = 0; w.PackedN = 0;
            if (splitM)
            {
                w.M = end - start; w.N = n;
                w.A = v == GemmVariant.TN ? a + start : a + start * lda;
                w.B = b;
                w.C = c + start * ldc;
            }
            else
            {
                w.M = m; w.N = end - start;
                w.A = a;
                if (packedB == null) w.B = v == GemmVariant.NT ? b + start * ldb : b + start;
                else { w.B = null; w.PackedCol0 = start; w.PackedN = n; }
                w.C = c + start;
            }
            w.Post();
        }

        try
        {
            if (splitM)
                SgemmKernels.Gemm(_buffers, v, end0 - start0, n, k, a, lda, b, ldb, packedB, c, ldc, accumulate);
            else if (packedB != null)
                SgemmKernels.Gemm(_buffers, v, m, end0 - start0, k, a, lda, null, 0, packedB, c, ldc, accumulate, start0, n);
            else
                SgemmKernels.Gemm(_buffers, v, m, end0 - start0, k, a, lda, b, ldb, c, ldc, accumulate);
        }
        finally
        {
            // The operands stay pinned only for the duration of this call: always wait for the workers.
            for (int t = 1; t < parts; t++) workers[t - 1].WaitDone();
        }
        for (int t = 1; t < parts; t++) workers[t - 1].ThrowIfFailed();
    }

    /// <summary>Managed bytes allocated by the worker threads while running jobs (for tests).</summary>
    internal long WorkerAllocatedBytes
    {
        get
        {
            long sum = 0;
            if (_workers is not null)
                foreach (Worker w in _workers) sum += Volatile.Read(ref w.AllocatedBytes);
            return sum;
        }
    }

    private Worker[] EnsureWorkers()
    {
        if (_workers is null)
        {
            var ws = new Worker[Threads - 1];
            for (int i = 0; i < ws.Length; i++) ws[i] = new Worker(1 + i);
            _workers = ws;
        }
        return _workers;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_workers is not null)
            foreach (Worker w in _workers) w.Stop();
        _workers = null;
        _buffers.Dispose();
    }

    /// <summary>A long-lived thread (a LaneWorker) that runs one GEMM slice per posted job, with its own packing buffers.</summary>
    private sealed class Worker
    {
        private readonly LaneWorker _lane;
        private readonly Action _run;
        private readonly SgemmBuffers _buffers = new();
        private Exception? _error;

        public GemmVariant Variant;
        public int M, N, K;
        public float* A, B, C, PackedB;
        public int PackedCol0, PackedN;
        public nint Lda, Ldb, Ldc;
        public bool Accumulate;

        /// <summary>Managed bytes allocated by this worker while running jobs (diagnostics for tests).</summary>
        public long AllocatedBytes;

        public Worker(int index)
        {
            _lane = LaneWorker.Shared(index);
            _run = Run;
        }

        private void Run()
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                SgemmKernels.Gemm(_buffers, Variant, M, N, K, A, Lda, B, Ldb, PackedB, C, Ldc, Accumulate, PackedCol0, PackedN);
            }
            finally
            {
                AllocatedBytes += GC.GetAllocatedBytesForCurrentThread() - allocated;
            }
        }

        private bool _posted;

        /// <summary>Hands the job to the shared worker thread, or keeps it for <see cref="WaitDone"/> to run here.</summary>
        public void Post() => _posted = _lane.TryStart(_run);

        public void WaitDone()
        {
            if (_posted) _error = _lane.WaitAndTakeError();
            else
            {
                try { Run(); }
                catch (Exception e) { _error = e; }
            }
        }

        public void ThrowIfFailed()
        {
            Exception? e = _error;
            if (e is null) return;
            _error = null;
            throw new InvalidOperationException("An SGEMM worker thread failed.", e);
        }

        /// <summary>Frees the packing buffers; the shared thread stays for other engines.</summary>
        public void Stop() => _buffers.Dispose();
    }
}
