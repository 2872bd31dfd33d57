using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>
/// A weight matrix W [Rows, Columns] kept for inference in bfloat16 or in int8 with one float32 scale per row
/// (symmetric: s = max|row| / 127, q = round(w / s), ties to even; a zero row has s = 0). Its values are the
/// dequantized ones: the bfloat16 widened (exact), or q·s rounded once to float32. A token generated reads every
/// weight of the head once, so storing 2 or 1 bytes per weight instead of 4 cuts the memory traffic that bounds
/// generation.
/// bfloat16 products widen each weight to float32 in registers and accumulate in float32 (<see cref="RowDots"/>: 16
/// partial sums of fused multiply-adds, column c in partial c mod 16, added in a fixed tree).
/// int8 products round each row of x to 16-bit integers first (<see cref="RoundActivations"/>: a step of
/// max|x| / 32767, so each value moves by at most 1/65534 of the row's largest) and sum q_w·q_x in int32, which is
/// exact in any order; the sum becomes float32 once, times s·step. Either way the bits are the same on every kernel
/// path (16, 8, 4 lanes or scalar) and on any thread count.
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
        fixed (float* px = x, pb = bias, py = y) MultiplyTransposedRows(0, Rows, batch, px, pb, py);
    }

    /// <summary>
    /// Rows [r0, r1) of <see cref="MultiplyTransposed"/> (x [batch, Columns], bias null or [Rows], y [batch, Rows]), unchecked:
    /// for a caller that splits the rows over threads. Each element has the bits of the whole product.
    /// </summary>
    internal void MultiplyTransposedRows(int r0, int r1, int batch, float* x, float* bias, float* y)
    {
        if (Precision == Precision.Int8)
        {
            fixed (sbyte* pw = _int8)
            fixed (float* ps = _scales) Int8Product(pw, ps, r0, r1, batch, x, bias, y);
            return;
        }
        // bfloat16: the float32 row-dot kernel, widening each weight in registers; y = bias + dot (the same bits as dot + bias).
        if (bias != null)
            for (int b = 0; b < batch; b++) new ReadOnlySpan<float>(bias + r0, r1 - r0).CopyTo(new Span<float>(y + (nint)b * Rows + r0, r1 - r0));
        fixed (ushort* pw = _bf16)
            RowDots.Run<RowDots.Bf16>(x, batch, Columns, (byte*)(pw + (nint)r0 * Columns), Columns, r1 - r0, (nint)Columns * 2,
                y + r0, Rows, accumulate: bias != null);
    }

    // ---- int8: integer dot products with 16-bit activations ----

    /// <summary>Rounded activations of at most this many values live on the stack; longer batches are rounded in groups.</summary>
    private const int StackShorts = 16384;

    /// <summary>
    /// The largest |q| of a rounded activation in a row of k: 32767, or less where k·127·|q| could overflow the
    /// int32 sum (k above 516).
    /// </summary>
    internal static int ActivationLimit(int k) => (int)Math.Min(short.MaxValue, int.MaxValue / (127L * k));

    /// <summary>
    /// Rounds x[0, k) to integers q with x ≈ q·step: step = max|x| / <see cref="ActivationLimit"/>(k), q = round(x / step)
    /// (in double, ties to even). Returns step: 0 when x is all zeros (q all zeros), NaN when x holds a NaN or an
    /// infinity (the products are then NaN, as float32's would be).
    /// </summary>
    internal static float RoundActivations(float* x, int k, short* q)
    {
        float max = 0f;
        for (int i = 0; i < k; i++)
        {
            float a = Math.Abs(x[i]);
            if (!(a <= float.MaxValue)) return float.NaN;
            if (a > max) max = a;
        }
        if (max == 0f)
        {
            new Span<short>(q, k).Clear();
            return 0f;
        }
        int limit = ActivationLimit(k);
        double inverse = limit / (double)max;
        for (int i = 0; i < k; i++) q[i] = (short)Math.Clamp(Math.Round(x[i] * inverse, MidpointRounding.ToEven), -limit, limit);
        return (float)((double)max / limit);
    }

    /// <summary>
    /// What an int8 product multiplies its weights with: each row of x [rows, Columns] as q·step (<see cref="RoundActivations"/>),
    /// into [rows, Columns]. A float32 product of these and the dequantized weights gives an int8 product's logits up to
    /// float32 rounding. Only for int8 (the bfloat16 products take x as it is).
    /// </summary>
    internal void RoundActivationRows(int rows, ReadOnlySpan<float> x, Span<float> into)
    {
        if (Precision != Precision.Int8) throw new InvalidOperationException("only int8 products round their activations.");
        int k = Columns;
        Check.Length(x, (long)rows * k, nameof(x));
        Check.Length(into, (long)rows * k, nameof(into));
        short[]? rented = k > StackShorts ? System.Buffers.ArrayPool<short>.Shared.Rent(k) : null;
        Span<short> buffer = rented ?? stackalloc short[Math.Min(k, StackShorts)];
        try
        {
            fixed (float* px = x, pi = into)
            fixed (short* q = buffer)
                for (int r = 0; r < rows; r++)
                {
                    float step = RoundActivations(px + (nint)r * k, k, q);
                    for (int c = 0; c < k; c++) pi[(nint)r * k + c] = q[c] * step;
                }
        }
        finally
        {
            if (rented != null) System.Buffers.ArrayPool<short>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Rows [r0, r1) of the int8 product: the batch's rows of x rounded in groups that fit on the stack, then each weight
    /// row four at a time against every rounded row of the group (the four rows stay in L1 across the group).
    /// </summary>
    private void Int8Product(sbyte* w, float* scales, int r0, int r1, int batch, float* x, float* bias, float* y)
    {
        int k = Columns, rows = Rows;
        int group = Math.Clamp(StackShorts / k, 1, Math.Min(batch, 64));
        short[]? rented = k > StackShorts ? System.Buffers.ArrayPool<short>.Shared.Rent(k) : null;
        Span<short> buffer = rented ?? stackalloc short[Math.Min(group * k, StackShorts)];
        float* steps = stackalloc float[group];
        int* dots = stackalloc int[4];
        try
        {
            fixed (short* q = buffer)
                for (int b0 = 0; b0 < batch; b0 += group)
                {
                    int g = Math.Min(group, batch - b0);
                    for (int j = 0; j < g; j++) steps[j] = RoundActivations(x + (nint)(b0 + j) * k, k, q + (nint)j * k);
                    int r = r0;
                    for (; r + 4 <= r1; r += 4)
                        for (int j = 0; j < g; j++)
                        {
                            FourDots(w + (nint)r * k, k, q + (nint)j * k, dots);
                            float* yr = y + (nint)(b0 + j) * rows + r;
                            for (int i = 0; i < 4; i++) yr[i] = Finish(dots[i], scales[r + i], steps[j], bias, r + i);
                        }
                    for (; r < r1; r++)
                        for (int j = 0; j < g; j++)
                            y[(nint)(b0 + j) * rows + r] = Finish(Dot(w + (nint)r * k, q + (nint)j * k, 0, k), scales[r], steps[j], bias, r);
                }
        }
        finally
        {
            if (rented != null) System.Buffers.ArrayPool<short>.Shared.Return(rented);
        }
    }

    /// <summary>The exact integer dot as float32, times the row's scale times the activations' step, plus the bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(int dot, float scale, float step, float* bias, int r)
    {
        float v = dot * (scale * step);
        return bias == null ? v : v + bias[r];
    }

    /// <summary>Σ w[i]·q[i] for i in [from, k), one at a time.</summary>
    private static int Dot(sbyte* w, short* q, int from, int k)
    {
        int sum = 0;
        for (int i = from; i < k; i++) sum += w[i] * q[i];
        return sum;
    }

    /// <summary>
    /// Four rows' integer dots with q into dots[0..4): int8 widened to int16, pairs multiplied and added into int32
    /// (vpmaddwd) 32, 16 or 8 columns at a time, the rest one at a time. Integer sums are exact, so every width gives
    /// the same dots.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FourDots(sbyte* w, int k, short* q, int* dots)
    {
        sbyte* w0 = w, w1 = w + k, w2 = w + 2 * k, w3 = w + 3 * k;
        int i = 0;
        int width = KernelPath.Set.Width;
        if (width == 16 && Avx512BW.IsSupported)
        {
            Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= k - 32; i += 32)
            {
                var x = Vector512.Load(q + i);
                a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w0 + i)), x);
                a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w1 + i)), x);
                a2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w2 + i)), x);
                a3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w3 + i)), x);
            }
            dots[0] = Vector512.Sum(a0); dots[1] = Vector512.Sum(a1); dots[2] = Vector512.Sum(a2); dots[3] = Vector512.Sum(a3);
        }
        else if (width >= 8)
        {
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= k - 16; i += 16)
            {
                var x = Vector256.Load(q + i);
                a0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w0 + i), x);
                a1 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w1 + i), x);
                a2 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w2 + i), x);
                a3 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w3 + i), x);
            }
            dots[0] = Vector256.Sum(a0); dots[1] = Vector256.Sum(a1); dots[2] = Vector256.Sum(a2); dots[3] = Vector256.Sum(a3);
        }
        else if (width == 4)
        {
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= k - 8; i += 8)
            {
                var x = Vector128.Load(q + i);
                a0 += PairDots(w0 + i, x); a1 += PairDots(w1 + i, x); a2 += PairDots(w2 + i, x); a3 += PairDots(w3 + i, x);
            }
            dots[0] = Vector128.Sum(a0); dots[1] = Vector128.Sum(a1); dots[2] = Vector128.Sum(a2); dots[3] = Vector128.Sum(a3);
        }
        else dots[0] = dots[1] = dots[2] = dots[3] = 0;
        dots[0] += Dot(w0, q, i, k); dots[1] += Dot(w1, q, i, k); dots[2] += Dot(w2, q, i, k); dots[3] += Dot(w3, q, i, k);
    }

    /// <summary>8 int8 weights times 8 int16 activations, added in pairs into 4 int32 lanes (SSE2's pmaddwd, or widened products elsewhere).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> PairDots(sbyte* w, Vector128<short> x)
    {
        var w16 = Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(w)).AsSByte());
        if (Sse2.IsSupported) return Sse2.MultiplyAddAdjacent(w16, x);
        return Vector128.WidenLower(w16) * Vector128.WidenLower(x) + Vector128.WidenUpper(w16) * Vector128.WidenUpper(x);
    }
}
