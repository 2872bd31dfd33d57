using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RnnLm.Tensors;

/// <summary>Four lanes (Vector128): ARM64's AdvSimd, x86's SSE; where FMA is missing it is emulated, slowly but exactly.</summary>
internal readonly unsafe struct Lanes128 : ILanes<Lanes128>
{
    public readonly Vector128<float> V;
    public Lanes128(Vector128<float> v) => V = v;
    public static int Count => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Load(float* p) => new(Vector128.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes128 v, float* p) => v.V.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Create(float x) => new(Vector128.Create(x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Add(Lanes128 a, Lanes128 b) => new(a.V + b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Subtract(Lanes128 a, Lanes128 b) => new(a.V - b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Multiply(Lanes128 a, Lanes128 b) => new(a.V * b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Divide(Lanes128 a, Lanes128 b) => new(a.V / b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 MultiplyAdd(Lanes128 a, Lanes128 b, Lanes128 c) => new(Vector128.FusedMultiplyAdd(a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 MultiplyAddNegated(Lanes128 a, Lanes128 b, Lanes128 c) => new(Vector128.FusedMultiplyAdd(-a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Max(Lanes128 a, Lanes128 b) => new(Vector128.ConditionalSelect(Vector128.GreaterThan(a.V, b.V), a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Min(Lanes128 a, Lanes128 b) => new(Vector128.ConditionalSelect(Vector128.LessThan(a.V, b.V), a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Round(Lanes128 a) => new(Vector128.Round(a.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Pow2(Lanes128 n) => new(((Vector128.ConvertToInt32Native(n.V) + Vector128.Create(127)) << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Abs(Lanes128 a) => new(Vector128.Abs(a.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Sqrt(Lanes128 a) => new(Vector128.Sqrt(a.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 SelectLess(Lanes128 a, Lanes128 b, Lanes128 ifLess, Lanes128 otherwise) =>
        new(Vector128.ConditionalSelect(Vector128.LessThan(a.V, b.V), ifLess.V, otherwise.V));
}
