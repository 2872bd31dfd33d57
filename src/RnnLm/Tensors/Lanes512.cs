using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnLm.Tensors;

/// <summary>Sixteen lanes on AVX-512F (x86 only).</summary>
internal readonly unsafe struct Lanes512 : ILanes<Lanes512>
{
    public readonly Vector512<float> V;
    public Lanes512(Vector512<float> v) => V = v;
    public static int Count => 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Load(float* p) => new(Avx512F.LoadVector512(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes512 v, float* p) => Avx512F.Store(p, v.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Create(float x) => new(Vector512.Create(x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Add(Lanes512 a, Lanes512 b) => new(Avx512F.Add(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Subtract(Lanes512 a, Lanes512 b) => new(Avx512F.Subtract(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Multiply(Lanes512 a, Lanes512 b) => new(Avx512F.Multiply(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Divide(Lanes512 a, Lanes512 b) => new(Avx512F.Divide(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 MultiplyAdd(Lanes512 a, Lanes512 b, Lanes512 c) => new(Avx512F.FusedMultiplyAdd(a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 MultiplyAddNegated(Lanes512 a, Lanes512 b, Lanes512 c) => new(Avx512F.FusedMultiplyAddNegated(a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Max(Lanes512 a, Lanes512 b) => new(Avx512F.Max(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Min(Lanes512 a, Lanes512 b) => new(Avx512F.Min(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Round(Lanes512 a) => new(Avx512F.RoundScale(a.V, 0));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Pow2(Lanes512 n) =>
        new(Avx512F.ShiftLeftLogical(Avx512F.Add(Avx512F.ConvertToVector512Int32(n.V), Vector512.Create(127)), 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Abs(Lanes512 a) => new(Vector512.Abs(a.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Sqrt(Lanes512 a) => new(Avx512F.Sqrt(a.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 SelectLess(Lanes512 a, Lanes512 b, Lanes512 ifLess, Lanes512 otherwise) =>
        new(Vector512.ConditionalSelect(Avx512F.CompareLessThan(a.V, b.V), ifLess.V, otherwise.V));
}
