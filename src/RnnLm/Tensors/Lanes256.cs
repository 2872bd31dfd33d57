using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>Eight lanes on AVX2/FMA (x86 only).</summary>
internal readonly unsafe struct Lanes256 : ILanes<Lanes256>
{
    public readonly Vector256<float> V;
    public Lanes256(Vector256<float> v) => V = v;
    public static int Count => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Load(float* p) => new(Avx.LoadVector256(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes256 v, float* p) => Avx.Store(p, v.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Create(float x) => new(Vector256.Create(x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Add(Lanes256 a, Lanes256 b) => new(Avx.Add(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Subtract(Lanes256 a, Lanes256 b) => new(Avx.Subtract(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Multiply(Lanes256 a, Lanes256 b) => new(Avx.Multiply(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Divide(Lanes256 a, Lanes256 b) => new(Avx.Divide(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 MultiplyAdd(Lanes256 a, Lanes256 b, Lanes256 c) => new(Fma.MultiplyAdd(a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 MultiplyAddNegated(Lanes256 a, Lanes256 b, Lanes256 c) => new(Fma.MultiplyAddNegated(a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Max(Lanes256 a, Lanes256 b) => new(Avx.Max(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Min(Lanes256 a, Lanes256 b) => new(Avx.Min(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Round(Lanes256 a) => new(Avx.RoundToNearestInteger(a.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Pow2(Lanes256 n) =>
        new(Avx2.ShiftLeftLogical(Avx2.Add(Avx.ConvertToVector256Int32(n.V), Vector256.Create(127)), 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Abs(Lanes256 a) => new(Avx.AndNot(Vector256.Create(-0f), a.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Sqrt(Lanes256 a) => new(Avx.Sqrt(a.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 SelectLess(Lanes256 a, Lanes256 b, Lanes256 ifLess, Lanes256 otherwise) =>
        new(Avx.BlendVariable(otherwise.V, ifLess.V, Avx.CompareLessThan(a.V, b.V)));
}
