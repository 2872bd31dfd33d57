using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>
/// A weight matrix W [Rows, Columns] kept for inference in bfloat16 or in int8 with one float32 scale per row
/// (symmetric: s = max|row| / 127, q = round(w / s), ties to even; a zero row has s = 0). Its values are the
/// dequantized ones: the bfloat16 widened (exact), or q·s rounded once to float32. A token generated reads every
/// weight of the head once, so storing 2 or 1 bytes per weight instead of 4 cuts the memory traffic that bounds
/// generation. Products widen each weight to float32 in registers and accumulate in float32: every output is 16
/// partial sums of fused multiply-adds (column c in partial c mod 16, in column order) added in a fixed tree, so
/// the bits are the same on every kernel path (16, 8, 4 lanes or scalar) and on any thread count.
/// Immutable once made: any number of threads may multiply with it at once.
/// </summary>
public sealed unsafe class QuantizedMatrix
{
    private readonly ushort[] _bf16 = [];
    private readonly sbyte[] _int8 = [];
    private readonly float[] _scales = [];

    /// <summary>Bf16 or Int8.</summary>
    public Precision Precision { get; }
    public int Rows { get; }
    public int Columns { get; }

    /// <summary>The bytes the weights take (and a product reads): 2 or 1 per weight, plus 4 per row of int8 scales.</summary>
    public long Bytes => Precision == Precision.Bf16 ? 2L * _bf16.Length : _int8.Length + 4L * _scales.Length;

    private QuantizedMatrix(Precision precision, int rows, int columns, ushort[] bf16, sbyte[] int8, float[] scales)
    {
        Precision = precision; Rows = rows; Columns = columns;
        _bf16 = bf16; _int8 = int8; _scales = scales;
    }

    /// <summary>Quantizes a row-major float32 matrix [rows, columns] (weights: at least rows·columns values).</summary>
    /// <exception cref="ArgumentException">precision is F32 (nothing to quantize), a size is not positive, weights is
    /// too short, or an int8 row holds a NaN or an infinity (which no scale can represent).</exception>
    public static QuantizedMatrix Create(Precision precision, ReadOnlySpan<float> weights, int rows, int columns)
    {
        Check.Positive(rows, nameof(rows));
        Check.Positive(columns, nameof(columns));
        long n = (long)rows * columns;
        if (n > Array.MaxLength) throw new ArgumentException($"a matrix of {n} values is too large.", nameof(rows));
        if (weights.Length < n) throw new ArgumentException($"weights has {weights.Length} values, [{rows}, {columns}] needs {n}.", nameof(weights));
        switch (precision)
        {
            case Precision.Bf16:
                var h = new ushort[n];
                for (int i = 0; i < h.Length; i++) h[i] = BFloat16.FromSingle(weights[i]);
                return new QuantizedMatrix(precision, rows, columns, h, [], []);
            case Precision.Int8:
                var q = new sbyte[n];
                var s = new float[rows];
                for (int r = 0; r < rows; r++) s[r] = QuantizeRow(weights.Slice(r * columns, columns), q.AsSpan(r * columns, columns), r);
                return new QuantizedMatrix(precision, rows, columns, [], q, s);
            default:
                throw new ArgumentException($"precision must be Bf16 or Int8 to quantize, got {precision}.", nameof(precision));
        }
    }

    /// <summary>One int8 row: writes q, returns its scale max|w| / 127 (0 for a zero row).</summary>
    internal static float QuantizeRow(ReadOnlySpan<float> w, Span<sbyte> q, int row = 0)
    {
        float max = 0f;
        foreach (float v in w)
        {
            if (!float.IsFinite(v)) throw new ArgumentException($"row {row} holds {v}, which int8 cannot represent.", nameof(w));
            max = Math.Max(max, Math.Abs(v));
        }
        if (max == 0f) { q.Clear(); return 0f; }
        float scale = max / 127f;
        for (int i = 0; i < w.Length; i++)
            q[i] = (sbyte)Math.Clamp(MathF.Round(w[i] / scale, MidpointRounding.ToEven), -127f, 127f);
        return scale;
    }

    /// <summary>The scale of an int8 row (1 for bfloat16, which has none).</summary>
    public float Scale(int row) => Precision == Precision.Int8 ? _scales[row] : 1f;

    /// <summary>The value a weight holds: what the products multiply by.</summary>
    public float this[int row, int column]
    {
        get
        {
            if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row));
            if ((uint)column >= (uint)Columns) throw new ArgumentOutOfRangeException(nameof(column));
            long i = (long)row * Columns + column;
            return Precision == Precision.Bf16 ? BFloat16.ToSingle(_bf16[i]) : _int8[i] * _scales[row];
        }
    }

    /// <summary>Writes every value as float32 (row-major [Rows, Columns]), as the products see them.</summary>
    public void Dequantize(Span<float> into)
    {
        Check.Length(into, (long)Rows * Columns, nameof(into));
        if (Precision == Precision.Bf16)
            for (int i = 0; i < _bf16.Length; i++) into[i] = BFloat16.ToSingle(_bf16[i]);
        else
            for (int r = 0; r < Rows; r++)
            {
                float s = _scales[r];
                for (int c = 0, i = r * Columns; c < Columns; c++, i++) into[i] = _int8[i] * s;
            }
    }

    /// <summary>
    /// y[b, r] = Σ_c x[b, c]·W[r, c] + bias[r] for b &lt; batch: x [batch, Columns], bias [Rows] (or empty for none),
    /// y [batch, Rows]. On the calling thread; allocates nothing.
    /// </summary>
    public void MultiplyTransposed(int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y)
    {
        Check.Positive(batch, nameof(batch));
        Check.Length(x, (long)batch * Columns, nameof(x));
        if (!bias.IsEmpty) Check.Length(bias, Rows, nameof(bias));
        Check.Length(y, (long)batch * Rows, nameof(y));
        fixed (float* px = x, pb = bias, py = y, ps = _scales)
        {
            if (Precision == Precision.Bf16)
                fixed (ushort* pw = _bf16) Product<Bf16Format>((byte*)pw, null, batch, px, pb, py);
            else
                fixed (sbyte* pw = _int8) Product<Int8Format>((byte*)pw, ps, batch, px, pb, py);
        }
    }

    private void Product<TF>(byte* w, float* scales, int batch, float* x, float* bias, float* y) where TF : IWeightFormat =>
        Product<TF>(w, scales, 0, Rows, batch, x, bias, y);

    private void Product<TF>(byte* w, float* scales, int r0, int r1, int batch, float* x, float* bias, float* y) where TF : IWeightFormat
    {
        switch (KernelPath.Set.Width)
        {
            case 16: Product<Lanes512, TF>(w, scales, r0, r1, Rows, Columns, batch, x, bias, y); break;
            case 8: Product<Lanes256, TF>(w, scales, r0, r1, Rows, Columns, batch, x, bias, y); break;
            case 4: Product<Lanes128, TF>(w, scales, r0, r1, Rows, Columns, batch, x, bias, y); break;
            default: Product<Lanes1, TF>(w, scales, r0, r1, Rows, Columns, batch, x, bias, y); break;
        }
    }

    /// <summary>
    /// Rows [r0, r1) of <see cref="MultiplyTransposed"/> (x [batch, Columns], bias null or [Rows], y [batch, Rows]), unchecked:
    /// for a caller that splits the rows over threads. Each element has the bits of the whole product.
    /// </summary>
    internal void MultiplyTransposedRows(int r0, int r1, int batch, float* x, float* bias, float* y)
    {
        fixed (float* ps = _scales)
        {
            if (Precision == Precision.Bf16)
                fixed (ushort* pw = _bf16) Product<Bf16Format>((byte*)pw, null, r0, r1, batch, x, bias, y);
            else
                fixed (sbyte* pw = _int8) Product<Int8Format>((byte*)pw, ps, r0, r1, batch, x, bias, y);
        }
    }

    /// <summary>
    /// Rows four at a time (four independent FMA chains hide the FMA latency; the four rows' weights stay in L1 across
    /// the batch), the rest one at a time on the scalar path, which gives the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Product<TV, TF>(byte* w, float* scales, int r0, int r1, int rows, int k, int batch, float* x, float* bias, float* y)
        where TV : unmanaged, ILanes<TV> where TF : IWeightFormat
    {
        float* lanes = stackalloc float[4 * 16];
        nint rowBytes = (nint)k * TF.Bytes;
        int r = r0;
        if (TV.Count > 1)
            for (; r + 4 <= r1; r += 4)
                for (int b = 0; b < batch; b++)
                    FourRows<TV, TF>(w + r * rowBytes, rowBytes, scales == null ? null : scales + r, k, x + (nint)b * k, lanes,
                        bias == null ? null : bias + r, y + (nint)b * rows + r);
        for (; r < r1; r++)
            for (int b = 0; b < batch; b++)
            {
                float dot = OneRow<TF>(w + r * rowBytes, scales == null ? 1f : scales[r], k, x + (nint)b * k, lanes);
                y[(nint)b * rows + r] = bias == null ? dot : dot + bias[r];
            }
    }

    /// <summary>One row on one lane at a time: the reference order every vector width reproduces.</summary>
    private static float OneRow<TF>(byte* w, float scale, int k, float* x, float* lanes) where TF : IWeightFormat
    {
        for (int j = 0; j < 16; j++) lanes[j] = 0f;
        int i = 0;
        for (; i <= k - 16; i += 16)
            for (int j = 0; j < 16; j++)
                lanes[j] = MathF.FusedMultiplyAdd(TF.LoadOne(w, i + j, scale), x[i + j], lanes[j]);
        for (int j = 0; i < k; i++, j++) lanes[j] = MathF.FusedMultiplyAdd(TF.LoadOne(w, i, scale), x[i], lanes[j]);
        return Tree(lanes);
    }

    /// <summary>The 16 partial sums added in a fixed tree: halves, quarters, eighths, then the last two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tree(float* p)
    {
        for (int j = 0; j < 8; j++) p[j] += p[j + 8];
        for (int j = 0; j < 4; j++) p[j] += p[j + 4];
        for (int j = 0; j < 2; j++) p[j] += p[j + 2];
        return p[0] + p[1];
    }

    /// <summary>Four rows' dots with x: per row 16 partials held as 16 / Count registers (Count is 4, 8 or 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourRows<TV, TF>(byte* w, nint rowBytes, float* scales, int k, float* x, float* lanes, float* bias, float* y)
        where TV : unmanaged, ILanes<TV> where TF : IWeightFormat
    {
        int c = TV.Count;
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        float f0 = scales == null ? 1f : scales[0], f1 = scales == null ? 1f : scales[1];
        float f2 = scales == null ? 1f : scales[2], f3 = scales == null ? 1f : scales[3];
        TV s0 = TV.Create(f0), s1 = TV.Create(f1), s2 = TV.Create(f2), s3 = TV.Create(f3);
        TV z = TV.Create(0f);
        TV a00 = z, a10 = z, a20 = z, a30 = z, a01 = z, a11 = z, a21 = z, a31 = z;
        TV a02 = z, a12 = z, a22 = z, a32 = z, a03 = z, a13 = z, a23 = z, a33 = z;
        int i = 0;
        for (; i <= k - 16; i += 16)
        {
            TV x0 = TV.Load(x + i);
            a00 = TV.MultiplyAdd(TF.Load(w0, i, s0), x0, a00);
            a10 = TV.MultiplyAdd(TF.Load(w1, i, s1), x0, a10);
            a20 = TV.MultiplyAdd(TF.Load(w2, i, s2), x0, a20);
            a30 = TV.MultiplyAdd(TF.Load(w3, i, s3), x0, a30);
            if (c <= 8)
            {
                int at = i + c;
                TV x1 = TV.Load(x + at);
                a01 = TV.MultiplyAdd(TF.Load(w0, at, s0), x1, a01);
                a11 = TV.MultiplyAdd(TF.Load(w1, at, s1), x1, a11);
                a21 = TV.MultiplyAdd(TF.Load(w2, at, s2), x1, a21);
                a31 = TV.MultiplyAdd(TF.Load(w3, at, s3), x1, a31);
            }
            if (c <= 4)
            {
                int at = i + 2 * c;
                TV x2 = TV.Load(x + at);
                a02 = TV.MultiplyAdd(TF.Load(w0, at, s0), x2, a02);
                a12 = TV.MultiplyAdd(TF.Load(w1, at, s1), x2, a12);
                a22 = TV.MultiplyAdd(TF.Load(w2, at, s2), x2, a22);
                a32 = TV.MultiplyAdd(TF.Load(w3, at, s3), x2, a32);
                at += c;
                TV x3 = TV.Load(x + at);
                a03 = TV.MultiplyAdd(TF.Load(w0, at, s0), x3, a03);
                a13 = TV.MultiplyAdd(TF.Load(w1, at, s1), x3, a13);
                a23 = TV.MultiplyAdd(TF.Load(w2, at, s2), x3, a23);
                a33 = TV.MultiplyAdd(TF.Load(w3, at, s3), x3, a33);
            }
        }
        Spill(lanes, a00, a01, a02, a03);
        Spill(lanes + 16, a10, a11, a12, a13);
        Spill(lanes + 32, a20, a21, a22, a23);
        Spill(lanes + 48, a30, a31, a32, a33);
        for (int j = 0; i < k; i++, j++)
        {
            float xi = x[i];
            lanes[j] = MathF.FusedMultiplyAdd(TF.LoadOne(w0, i, f0), xi, lanes[j]);
            lanes[16 + j] = MathF.FusedMultiplyAdd(TF.LoadOne(w1, i, f1), xi, lanes[16 + j]);
            lanes[32 + j] = MathF.FusedMultiplyAdd(TF.LoadOne(w2, i, f2), xi, lanes[32 + j]);
            lanes[48 + j] = MathF.FusedMultiplyAdd(TF.LoadOne(w3, i, f3), xi, lanes[48 + j]);
        }
        for (int q = 0; q < 4; q++)
        {
            float dot = Tree(lanes + 16 * q);
            y[q] = bias == null ? dot : dot + bias[q];
        }
    }

    /// <summary>A row's 16 partials from its registers: register j holds partials [j·Count, (j+1)·Count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spill<TV>(float* p, TV a0, TV a1, TV a2, TV a3) where TV : unmanaged, ILanes<TV>
    {
        int c = TV.Count;
        TV.Store(a0, p);
        if (c <= 8) TV.Store(a1, p + c);
        if (c <= 4) { TV.Store(a2, p + 2 * c); TV.Store(a3, p + 3 * c); }
    }

    /// <summary>How a stored weight becomes float32: a register of Count of them, or one.</summary>
    private interface IWeightFormat
    {
        /// <summary>Bytes per weight.</summary>
        static abstract int Bytes { get; }
        /// <summary>Weights [i, i + Count) of a row as float32 (scale: the row's, in every lane).</summary>
        static abstract TV Load<TV>(byte* row, int i, TV scale) where TV : unmanaged, ILanes<TV>;
        /// <summary>Weight i of a row as float32: the same bits as lane i of Load.</summary>
        static abstract float LoadOne(byte* row, int i, float scale);
    }

    /// <summary>bfloat16: the 16 bits shifted into the top of a float32.</summary>
    private readonly struct Bf16Format : IWeightFormat
    {
        public static int Bytes => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float LoadOne(byte* row, int i, float scale) => BFloat16.ToSingle(((ushort*)row)[i]);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Load<TV>(byte* row, int i, TV scale) where TV : unmanaged, ILanes<TV>
        {
            ushort* p = (ushort*)row + i;
            if (typeof(TV) == typeof(Lanes512))
                return Unsafe.BitCast<Lanes512, TV>(new(Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(p)), 16).AsSingle()));
            if (typeof(TV) == typeof(Lanes256))
                return Unsafe.BitCast<Lanes256, TV>(new(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(p), 16).AsSingle()));
            if (typeof(TV) == typeof(Lanes128))
            {
                var h = Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(p)).AsUInt16();
                return Unsafe.BitCast<Lanes128, TV>(new(Vector128.ShiftLeft(Vector128.WidenLower(h), 16).AsSingle()));
            }
            return Unsafe.BitCast<Lanes1, TV>(new(BFloat16.ToSingle(*p)));
        }
    }

    /// <summary>int8 with a row scale: q converted to float32 (exact), times the scale (one rounding).</summary>
    private readonly struct Int8Format : IWeightFormat
    {
        public static int Bytes => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float LoadOne(byte* row, int i, float scale) => ((sbyte*)row)[i] * scale;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Load<TV>(byte* row, int i, TV scale) where TV : unmanaged, ILanes<TV>
        {
            sbyte* p = (sbyte*)row + i;
            TV q;
            if (typeof(TV) == typeof(Lanes512))
                q = Unsafe.BitCast<Lanes512, TV>(new(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(p)))));
            else if (typeof(TV) == typeof(Lanes256))
                q = Unsafe.BitCast<Lanes256, TV>(new(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(p))));
            else if (typeof(TV) == typeof(Lanes128))
            {
                var b = Vector128.CreateScalar(Unsafe.ReadUnaligned<int>(p)).AsSByte();
                q = Unsafe.BitCast<Lanes128, TV>(new(Vector128.ConvertToSingle(Vector128.WidenLower(Vector128.WidenLower(b)))));
            }
            else q = Unsafe.BitCast<Lanes1, TV>(new(*p));
            return TV.Multiply(q, scale);
        }
    }
}
