using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>
/// exp, tanh and sigmoid for float32, and the fused softmax / cross-entropy row kernel of the output layer, each
/// written once over <see cref="ILanes{TSelf}"/> and run at the current path's width (<see cref="KernelPath"/>:
/// 16, 8, 4 or 1 lanes) with the narrower widths, down to one lane, for the tail. Every lane does the same IEEE
/// operations, so the results are the same bits on every path and for every length (tested). exp is a degree-6
/// polynomial on [-ln2/2, ln2/2] scaled by 2^n: within 2 ulp of MathF.Exp over the range used here.
/// The row's sum is kept as 16 partial sums (element i in partial i mod 16) added in a fixed tree, an order that
/// does not depend on the width either.
/// </summary>
public static class FastMath
{
    /// <summary>An element-wise function, written once for every width.</summary>
    private interface IUnaryOperator
    {
        static abstract TV Invoke<TV>(TV x) where TV : unmanaged, ILanes<TV>;
    }

    private readonly struct ExpOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Invoke<TV>(TV x) where TV : unmanaged, ILanes<TV> => Exp(x);
    }

    private readonly struct TanhOperator : IUnaryOperator
    {
        /// <summary>1 - 2/(exp(2x) + 1); for |x| &lt; 0.0625, where that loses digits to cancellation, x - x³/3 + 2x⁵/15.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Invoke<TV>(TV x) where TV : unmanaged, ILanes<TV>
        {
            var one = TV.Create(1f);
            var two = TV.Create(2f);
            var e = Exp(TV.Multiply(x, two));
            var t = TV.Subtract(one, TV.Divide(two, TV.Add(e, one)));
            var x2 = TV.Multiply(x, x);
            var poly = TV.MultiplyAdd(TV.MultiplyAdd(x2, TV.Create(2f / 15f), TV.Create(-1f / 3f)), TV.Multiply(x2, x), x);
            return TV.SelectLess(TV.Abs(x), TV.Create(0.0625f), poly, t);
        }
    }

    private readonly struct SigmoidOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Invoke<TV>(TV x) where TV : unmanaged, ILanes<TV>
        {
            var one = TV.Create(1f);
            return TV.Divide(one, TV.Add(Exp(TV.Subtract(TV.Create(0f), x)), one));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Exp<TV>(TV x) where TV : unmanaged, ILanes<TV>
    {
        x = TV.Min(TV.Max(x, TV.Create(-87.33654f)), TV.Create(88.72283f));
        var n = TV.Round(TV.Multiply(x, TV.Create(1.44269504088896341f)));
        var r = TV.MultiplyAddNegated(n, TV.Create(0.693359375f), x);
        r = TV.MultiplyAddNegated(n, TV.Create(-2.12194440e-4f), r);
        var p = TV.Create(1.9875691500E-4f);
        p = TV.MultiplyAdd(p, r, TV.Create(1.3981999507E-3f));
        p = TV.MultiplyAdd(p, r, TV.Create(8.3334519073E-3f));
        p = TV.MultiplyAdd(p, r, TV.Create(4.1665795894E-2f));
        p = TV.MultiplyAdd(p, r, TV.Create(1.6666665459E-1f));
        p = TV.MultiplyAdd(p, r, TV.Create(5.0000001201E-1f));
        p = TV.MultiplyAdd(p, TV.Multiply(r, r), TV.Add(r, TV.Create(1f)));
        return TV.Multiply(p, TV.Pow2(n));
    }

    /// <summary>y = exp(x), element-wise (x and y may be the same span).</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y) => Map<ExpOperator>(x, y);

    /// <summary>y = tanh(x) = 1 - 2/(exp(2x) + 1), element-wise (x and y may be the same span).</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) => Map<TanhOperator>(x, y);

    /// <summary>y = σ(x) = 1/(1 + exp(-x)), element-wise (x and y may be the same span): the gates of GRU and LSTM.</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => Map<SigmoidOperator>(x, y);

    /// <summary>The one driver of the element-wise functions: the path's width, then narrower ones for the tail.</summary>
    private static unsafe void Map<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : IUnaryOperator
    {
        if (x.Length != y.Length) throw new ArgumentException($"x has {x.Length} elements, y has {y.Length}.", nameof(y));
        fixed (float* px = x, py = y)
        {
            int n = x.Length, i = 0, w = KernelPath.Set.Width;
            if (w >= 16) i = MapBody<TOp, Lanes512>(px, py, i, n);
            if (w >= 8) i = MapBody<TOp, Lanes256>(px, py, i, n);
            if (w >= 4) i = MapBody<TOp, Lanes128>(px, py, i, n);
            MapBody<TOp, Lanes1>(px, py, i, n);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int MapBody<TOp, TV>(float* x, float* y, int i, int n) where TOp : IUnaryOperator where TV : unmanaged, ILanes<TV>
    {
        for (; i <= n - TV.Count; i += TV.Count) TV.Store(TOp.Invoke(TV.Load(x + i)), y + i);
        return i;
    }

    /// <summary>
    /// One row of the output layer, stored in segments: row ← row + bias (logits); returns -log softmax(row)[target].
    /// With gradient, row ← scale·(softmax(row) - onehot(target)) and dbias += that row. The n elements are stored in
    /// segments: elements [s·width, (s+1)·width) start at row + s·stride. width must be a multiple of 16 unless there is one segment. The same bits as the row
    /// stored whole. bias and dbias (null: none) are contiguous. With gradient, scaledProbability (unless null)
    /// receives scale·softmax(row)[target] before the one-hot is taken off, so that a caller adding the rows to dbias
    /// itself can give dbias the bits this kernel gives it: dbias[target] = (dbias[target] + that) - scale.
    /// With several segments, the first pass prefetches into L2 the segments of the row that starts width floats on
    /// (the next row of the output layer's [rows, width] slices): a row spans a page per segment, more streams than
    /// the hardware prefetcher follows, so its first reads would otherwise each wait on L3.
    /// </summary>
    internal static unsafe double SegmentedRow(float* row, nint stride, int width, int n, float* bias, int target,
        bool gradient, float scale, float* dbias, float* scaledProbability = null)
    {
        if ((uint)target >= (uint)n) throw new ArgumentException($"target {target} is outside [0, {n}).", nameof(target));
        if (width < n && width % 16 != 0) throw new ArgumentException($"width must be a multiple of 16, got {width}.", nameof(width));
        return KernelPath.Set.Width switch
        {
            16 => Row<Lanes512>(row, stride, width, n, bias, target, gradient, scale, dbias, scaledProbability),
            8 => Row<Lanes256>(row, stride, width, n, bias, target, gradient, scale, dbias, scaledProbability),
            4 => Row<Lanes128>(row, stride, width, n, bias, target, gradient, scale, dbias, scaledProbability),
            _ => Row<Lanes1>(row, stride, width, n, bias, target, gradient, scale, dbias, scaledProbability),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe double Row<TV>(float* row, nint stride, int width, int n, float* bias, int target,
        bool gradient, float scale, float* dbias, float* scaledProbability) where TV : unmanaged, ILanes<TV>
    {
        float* lanes = stackalloc float[16];
        float max = BiasAndMax<TV>(row, stride, width, n, bias, lanes);
        float* pt = row + (target / width) * stride + target % width;
        float picked = *pt;
        float sum = ExpAndSum<TV>(row, stride, width, n, max, lanes);
        double loss = Math.Log(sum) + max - picked;
        if (!gradient) return loss;
        ScaleAndAddToBias<TV>(row, stride, width, n, scale / sum, dbias);
        // Then the target's one-hot.
        if (scaledProbability != null) *scaledProbability = *pt;
        *pt -= scale;
        if (dbias != null) dbias[target] -= scale;
        return loss;
    }

    /// <summary>Pass 1 of <see cref="Row{TV}"/>: row += bias (when not null); returns the maximum (exact whatever the order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float BiasAndMax<TV>(float* row, nint stride, int width, int n, float* bias, float* lanes)
        where TV : unmanaged, ILanes<TV>
    {
        int segments = (n + width - 1) / width, c = TV.Count;
        bool ahead = segments > 1 && Sse.IsSupported;
        var vmax = TV.Create(float.NegativeInfinity);
        var max = Lanes1.Create(float.NegativeInfinity);
        for (int sgm = 0; sgm < segments; sgm++)
        {
            float* r = row + sgm * stride, b = bias + sgm * width;
            int len = Math.Min(width, n - sgm * width), i = 0;
            if (bias != null)
            {
                for (; i <= len - c; i += c)
                {
                    if (ahead && (i & 15) == 0) Sse.Prefetch1(r + i + width);
                    var v = TV.Add(TV.Load(r + i), TV.Load(b + i));
                    TV.Store(v, r + i);
                    vmax = TV.Max(vmax, v);
                }
                for (; i < len; i++) { r[i] += b[i]; max = Lanes1.Max(max, new Lanes1(r[i])); }
            }
            else
            {
                for (; i <= len - c; i += c) vmax = TV.Max(vmax, TV.Load(r + i));
                for (; i < len; i++) max = Lanes1.Max(max, new Lanes1(r[i]));
            }
        }
        TV.Store(vmax, lanes);
        for (int k = 0; k < c; k++) max = Lanes1.Max(max, new Lanes1(lanes[k]));
        return max.V;
    }

    /// <summary>
    /// Pass 2: row = exp(row - max); returns its sum, taken in 16 partial sums, element i in partial i mod 16
    /// (segments are multiples of 16 wide, so that is the element's place in its segment too), whatever the width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float ExpAndSum<TV>(float* row, nint stride, int width, int n, float mx, float* lanes)
        where TV : unmanaged, ILanes<TV>
    {
        int segments = (n + width - 1) / width, c = TV.Count;
        var vm = TV.Create(mx);
        TV a0 = TV.Create(0f), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < 16; k++) lanes[k] = 0f;
        float* tail = null;
        int tailLen = 0;
        for (int sgm = 0; sgm < segments; sgm++)
        {
            float* r = row + sgm * stride;
            int len = Math.Min(width, n - sgm * width), i = 0;
            for (; i <= len - 16; i += 16)
            {
                a0 = TV.Add(a0, ExpStore(r + i, vm));
                if (c <= 8) a1 = TV.Add(a1, ExpStore(r + i + c, vm));
                if (c <= 4) { a2 = TV.Add(a2, ExpStore(r + i + 2 * c, vm)); a3 = TV.Add(a3, ExpStore(r + i + 3 * c, vm)); }
                if (c == 1)
                    for (int q = 4; q < 16; q++) lanes[q] += ExpStore(r + i + q, Lanes1.Create(mx)).V;
            }
            if (i < len) { tail = r + i; tailLen = len - i; }
        }
        AddLanes(lanes, a0, 0);
        if (c <= 8) AddLanes(lanes, a1, c);
        if (c <= 4) { AddLanes(lanes, a2, 2 * c); AddLanes(lanes, a3, 3 * c); }
        int t = 0;
        if (c >= 16) t = TailExp<Lanes256>(tail, t, tailLen, mx, lanes);
        if (c >= 8) t = TailExp<Lanes128>(tail, t, tailLen, mx, lanes);
        TailExp<Lanes1>(tail, t, tailLen, mx, lanes);
        for (int k = 0; k < 8; k++) lanes[k] += lanes[k + 8];
        for (int k = 0; k < 4; k++) lanes[k] += lanes[k + 4];
        for (int k = 0; k < 2; k++) lanes[k] += lanes[k + 2];
        return lanes[0] + lanes[1];
    }

    /// <summary>Pass 3: row *= factor (scale·softmax), and dbias += row when dbias is not null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ScaleAndAddToBias<TV>(float* row, nint stride, int width, int n, float factor, float* dbias)
        where TV : unmanaged, ILanes<TV>
    {
        int segments = (n + width - 1) / width, c = TV.Count;
        var vs = TV.Create(factor);
        for (int sgm = 0; sgm < segments; sgm++)
        {
            float* r = row + sgm * stride, d = dbias + sgm * width;
            int len = Math.Min(width, n - sgm * width), i = 0;
            if (dbias != null)
                for (; i <= len - c; i += c)
                {
                    var g = TV.Multiply(TV.Load(r + i), vs);
                    TV.Store(g, r + i);
                    TV.Store(TV.Add(TV.Load(d + i), g), d + i);
                }
            else
                for (; i <= len - c; i += c) TV.Store(TV.Multiply(TV.Load(r + i), vs), r + i);
            for (; i < len; i++)
            {
                r[i] *= factor;
                if (dbias != null) d[i] += r[i];
            }
        }
    }

    /// <summary>
    /// d[c] += rows[r·stride + c] for the rows r = 0 .. count-1 in order, c in [0, w): each element one chain of adds,
    /// so the same bits as adding the rows one by one, at every width. The output layer's bias gradient: columns
    /// are kept in registers, four vectors at a time (then one), while the rows go by.
    /// </summary>
    internal static unsafe void AddRows(float* d, float* rows, nint stride, int count, int w)
    {
        switch (KernelPath.Set.Width)
        {
            case 16: AddRows<Lanes512>(d, rows, stride, count, w); break;
            case 8: AddRows<Lanes256>(d, rows, stride, count, w); break;
            case 4: AddRows<Lanes128>(d, rows, stride, count, w); break;
            default: AddRows<Lanes1>(d, rows, stride, count, w); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AddRows<TV>(float* d, float* rows, nint stride, int count, int w) where TV : unmanaged, ILanes<TV>
    {
        int c = 0, n = TV.Count;
        for (; c <= w - 4 * n; c += 4 * n)
        {
            TV a0 = TV.Load(d + c), a1 = TV.Load(d + c + n), a2 = TV.Load(d + c + 2 * n), a3 = TV.Load(d + c + 3 * n);
            float* p = rows + c;
            for (int r = 0; r < count; r++, p += stride)
            {
                a0 = TV.Add(a0, TV.Load(p));
                a1 = TV.Add(a1, TV.Load(p + n));
                a2 = TV.Add(a2, TV.Load(p + 2 * n));
                a3 = TV.Add(a3, TV.Load(p + 3 * n));
            }
            TV.Store(a0, d + c); TV.Store(a1, d + c + n); TV.Store(a2, d + c + 2 * n); TV.Store(a3, d + c + 3 * n);
        }
        for (; c <= w - n; c += n)
        {
            TV a = TV.Load(d + c);
            float* p = rows + c;
            for (int r = 0; r < count; r++, p += stride) a = TV.Add(a, TV.Load(p));
            TV.Store(a, d + c);
        }
        for (; c < w; c++)
        {
            float a = d[c];
            for (int r = 0; r < count; r++) a += rows[r * stride + c];
            d[c] = a;
        }
    }

    /// <summary>p[0..Count) = exp(p - max); returns it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe TV ExpStore<TV>(float* p, TV max) where TV : unmanaged, ILanes<TV>
    {
        var e = Exp(TV.Subtract(TV.Load(p), max));
        TV.Store(e, p);
        return e;
    }

    /// <summary>lanes[at..at+Count) += v.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddLanes<TV>(float* lanes, TV v, int at) where TV : unmanaged, ILanes<TV> =>
        TV.Store(TV.Add(TV.Load(lanes + at), v), lanes + at);

    /// <summary>The row's last elements (fewer than 16, from a multiple of 16): exp in place, element k into partial k.</summary>
    private static unsafe int TailExp<TV>(float* tail, int k, int len, float max, float* lanes) where TV : unmanaged, ILanes<TV>
    {
        var vm = TV.Create(max);
        for (; k <= len - TV.Count; k += TV.Count) AddLanes(lanes, ExpStore(tail + k, vm), k);
        return k;
    }
}
