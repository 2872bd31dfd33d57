using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>
/// Dot products of float32 vectors with the rows of a weight matrix stored in float32 or bfloat16 (the head of a
/// generation step, m = 1): one kernel for both formats, the weights widened to float32 in registers. Each dot is
/// 16 partial sums of fused multiply-adds (element i in partial i mod 16, in order) added in a fixed tree, so the
/// bits are the same on every path (16, 8, 4 lanes or scalar) and do not depend on how the rows are split over
/// threads. Four rows at a time share each load of x and keep four chains of FMAs in flight; the four rows stay in
/// L1 across a batch of x.
/// </summary>
internal static unsafe class RowDots
{
    /// <summary>How a row's elements are stored and widened to float32.</summary>
    internal interface IFormat
    {
        /// <summary>Bytes per element.</summary>
        static abstract int Bytes { get; }
        /// <summary>Elements [0, Count) at p as float32.</summary>
        static abstract TV Load<TV>(byte* p) where TV : unmanaged, ILanes<TV>;
        /// <summary>The element at p as float32: lane 0 of Load.</summary>
        static abstract float One(byte* p);
    }

    internal readonly struct F32 : IFormat
    {
        public static int Bytes => 4;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static TV Load<TV>(byte* p) where TV : unmanaged, ILanes<TV> => TV.Load((float*)p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float One(byte* p) => *(float*)p;
    }

    /// <summary>bfloat16: the 16 bits shifted into the top of a float32 (exact).</summary>
    internal readonly struct Bf16 : IFormat
    {
        public static int Bytes => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float One(byte* p) => BFloat16.ToSingle(*(ushort*)p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Load<TV>(byte* p) where TV : unmanaged, ILanes<TV>
        {
            ushort* h = (ushort*)p;
            if (typeof(TV) == typeof(Lanes512))
                return Unsafe.BitCast<Lanes512, TV>(new(Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(h)), 16).AsSingle()));
            if (typeof(TV) == typeof(Lanes256))
                return Unsafe.BitCast<Lanes256, TV>(new(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(h), 16).AsSingle()));
            if (typeof(TV) == typeof(Lanes128))
            {
                var four = Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(h)).AsUInt16();
                return Unsafe.BitCast<Lanes128, TV>(new(Vector128.ShiftLeft(Vector128.WidenLower(four), 16).AsSingle()));
            }
            return Unsafe.BitCast<Lanes1, TV>(new(BFloat16.ToSingle(*h)));
        }
    }

    /// <summary>c[j] (+)= Σ_i x[i]·y[j·stride + i] for j in [0, rows): one vector against float32 rows (the m = 1 NT product).</summary>
    public static void Floats(float* x, float* y, int k, int rows, int stride, float* c, bool accumulate) =>
        Run<F32>(x, 1, k, (byte*)y, k, rows, (nint)stride * sizeof(float), c, rows, accumulate);

    /// <summary>
    /// c[b·ldc + j] (+)= Σ_i x[b·ldx + i]·w_j[i] for b in [0, batch), j in [0, rows): row j of w starts rowBytes·j bytes
    /// after w and holds k elements of TF.
    /// </summary>
    public static void Run<TF>(float* x, int batch, int ldx, byte* w, int k, int rows, nint rowBytes, float* c, int ldc, bool accumulate)
        where TF : IFormat
    {
        switch (KernelPath.Set.Width)
        {
            case 16: Run<Lanes512, TF>(x, batch, ldx, w, k, rows, rowBytes, c, ldc, accumulate); break;
            case 8: Run<Lanes256, TF>(x, batch, ldx, w, k, rows, rowBytes, c, ldc, accumulate); break;
            case 4: Run<Lanes128, TF>(x, batch, ldx, w, k, rows, rowBytes, c, ldc, accumulate); break;
            default:
                for (int j = 0; j < rows; j++)
                    for (int b = 0; b < batch; b++)
                    {
                        float d = Scalar<TF>(x + (nint)b * ldx, w + j * rowBytes, k);
                        float* cj = c + (nint)b * ldc + j;
                        *cj = accumulate ? *cj + d : d;
                    }
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TV, TF>(float* x, int batch, int ldx, byte* w, int k, int rows, nint rowBytes, float* c, int ldc, bool accumulate)
        where TV : unmanaged, ILanes<TV> where TF : IFormat
    {
        for (int j = 0; j < rows; j += 4)
        {
            // Past the last row the spare chains repeat it; their sums are dropped.
            byte* y0 = w + j * rowBytes;
            byte* y1 = j + 1 < rows ? y0 + rowBytes : y0;
            byte* y2 = j + 2 < rows ? y1 + rowBytes : y1;
            byte* y3 = j + 3 < rows ? y2 + rowBytes : y2;
            int count = Math.Min(4, rows - j);
            for (int b = 0; b < batch; b++)
            {
                var sums = Four<TV, TF>(x + (nint)b * ldx, y0, y1, y2, y3, k);
                float* cb = c + (nint)b * ldc + j;
                for (int r = 0; r < count; r++) cb[r] = accumulate ? cb[r] + sums[r] : sums[r];
            }
        }
    }

    /// <summary>The four dot products of x with y0..y3, each as 16 partial sums in 16 / Count registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Four<TV, TF>(float* x, byte* y0, byte* y1, byte* y2, byte* y3, int n)
        where TV : unmanaged, ILanes<TV> where TF : IFormat
    {
        int c = TV.Count, e = TF.Bytes, i = 0;
        TV z = TV.Create(0f);
        TV p0 = z, p1 = z, p2 = z, p3 = z, q0 = z, q1 = z, q2 = z, q3 = z;
        TV r0 = z, r1 = z, r2 = z, r3 = z, s0 = z, s1 = z, s2 = z, s3 = z;
        for (; i <= n - 16; i += 16)
        {
            Chains<TV, TF>(x + i, y0, y1, y2, y3, (nint)i * e, ref p0, ref p1, ref p2, ref p3);
            if (c <= 8) Chains<TV, TF>(x + i + c, y0, y1, y2, y3, (nint)(i + c) * e, ref q0, ref q1, ref q2, ref q3);
            if (c <= 4)
            {
                Chains<TV, TF>(x + i + 2 * c, y0, y1, y2, y3, (nint)(i + 2 * c) * e, ref r0, ref r1, ref r2, ref r3);
                Chains<TV, TF>(x + i + 3 * c, y0, y1, y2, y3, (nint)(i + 3 * c) * e, ref s0, ref s1, ref s2, ref s3);
            }
        }
        int tail = n - i;
        nint from = (nint)i * e;
        return Vector128.Create(
            Fold<TV, TF>(p0, q0, r0, s0, x + i, y0 + from, tail),
            Fold<TV, TF>(p1, q1, r1, s1, x + i, y1 + from, tail),
            Fold<TV, TF>(p2, q2, r2, s2, x + i, y2 + from, tail),
            Fold<TV, TF>(p3, q3, r3, s3, x + i, y3 + from, tail));
    }

    /// <summary>One FMA on each row's chain: a_r += x[0, Count) · (row r's elements from byte offset at).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chains<TV, TF>(float* x, byte* y0, byte* y1, byte* y2, byte* y3, nint at, ref TV a0, ref TV a1, ref TV a2, ref TV a3)
        where TV : unmanaged, ILanes<TV> where TF : IFormat
    {
        var xv = TV.Load(x);
        a0 = TV.MultiplyAdd(xv, TF.Load<TV>(y0 + at), a0);
        a1 = TV.MultiplyAdd(xv, TF.Load<TV>(y1 + at), a1);
        a2 = TV.MultiplyAdd(xv, TF.Load<TV>(y2 + at), a2);
        a3 = TV.MultiplyAdd(xv, TF.Load<TV>(y3 + at), a3);
    }

    /// <summary>
    /// The 16 partial sums held in a (lanes 0..Count), b, c, d (the next Count each), plus the tail's products (element
    /// t into partial t), added in the fixed tree: partial k += partial k+8, then k+4, then (0 + 2) + (1 + 3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fold<TV, TF>(TV a, TV b, TV c, TV d, float* x, byte* y, int tail)
        where TV : unmanaged, ILanes<TV> where TF : IFormat
    {
        if (tail > 0)
        {
            float* lanes = stackalloc float[16];
            int w = TV.Count;
            TV.Store(a, lanes);
            if (w <= 8) TV.Store(b, lanes + w);
            if (w <= 4) { TV.Store(c, lanes + 2 * w); TV.Store(d, lanes + 3 * w); }
            for (int t = 0; t < tail; t++) lanes[t] = MathF.FusedMultiplyAdd(x[t], TF.One(y + (nint)t * TF.Bytes), lanes[t]);
            return FoldFour(Vector128.Add(Vector128.Add(Vector128.Load(lanes), Vector128.Load(lanes + 8)),
                Vector128.Add(Vector128.Load(lanes + 4), Vector128.Load(lanes + 12))));
        }
        Vector128<float> four;
        if (TV.Count == 16)
        {
            var v = Unsafe.As<TV, Vector512<float>>(ref a);
            var eight = Vector256.Add(v.GetLower(), v.GetUpper());
            four = Vector128.Add(eight.GetLower(), eight.GetUpper());
        }
        else if (TV.Count == 8)
        {
            var eight = Vector256.Add(Unsafe.As<TV, Vector256<float>>(ref a), Unsafe.As<TV, Vector256<float>>(ref b));
            four = Vector128.Add(eight.GetLower(), eight.GetUpper());
        }
        else
            four = Vector128.Add(
                Vector128.Add(Unsafe.As<TV, Vector128<float>>(ref a), Unsafe.As<TV, Vector128<float>>(ref c)),
                Vector128.Add(Unsafe.As<TV, Vector128<float>>(ref b), Unsafe.As<TV, Vector128<float>>(ref d)));
        return FoldFour(four);
    }

    /// <summary>(v0 + v2) + (v1 + v3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float FoldFour(Vector128<float> v) => (v.GetElement(0) + v.GetElement(2)) + (v.GetElement(1) + v.GetElement(3));

    /// <summary>The scalar path: 16 partial sums in an array, the same tree.</summary>
    private static float Scalar<TF>(float* x, byte* y, int n) where TF : IFormat
    {
        float* lanes = stackalloc float[16];
        for (int k = 0; k < 16; k++) lanes[k] = 0f;
        int i = 0, e = TF.Bytes;
        for (; i <= n - 16; i += 16)
            for (int q = 0; q < 16; q++) lanes[q] = MathF.FusedMultiplyAdd(x[i + q], TF.One(y + (nint)(i + q) * e), lanes[q]);
        for (int t = 0; i < n; i++, t++) lanes[t] = MathF.FusedMultiplyAdd(x[i], TF.One(y + (nint)i * e), lanes[t]);
        for (int k = 0; k < 8; k++) lanes[k] += lanes[k + 8];
        for (int k = 0; k < 4; k++) lanes[k] += lanes[k + 4];
        return (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
    }
}
