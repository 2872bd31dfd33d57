namespace RnnLm.Tensors;

/// <summary>One lane: the scalar path, and the tail of every vector body (the same bits as a vector lane).</summary>
internal readonly unsafe struct Lanes1 : ILanes<Lanes1>
{
    public readonly float V;
    public Lanes1(float v) => V = v;
    public static int Count => 1;
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Load(float* p) => new(*p);
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes1 v, float* p) => *p = v.V;
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Create(float x) => new(x);
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Add(Lanes1 a, Lanes1 b) => new(a.V + b.V);
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Subtract(Lanes1 a, Lanes1 b) => new(a.V - b.V);
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Multiply(Lanes1 a, Lanes1 b) => new(a.V * b.V);
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Divide(Lanes1 a, Lanes1 b) => new(a.V / b.V);
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 MultiplyAdd(Lanes1 a, Lanes1 b, Lanes1 c) => new(MathF.FusedMultiplyAdd(a.V, b.V, c.V));
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 MultiplyAddNegated(Lanes1 a, Lanes1 b, Lanes1 c) => new(MathF.FusedMultiplyAdd(-a.V, b.V, c.V));
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Max(Lanes1 a, Lanes1 b) => a.V > b.V ? a : b;
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Min(Lanes1 a, Lanes1 b) => a.V < b.V ? a : b;
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Round(Lanes1 a) => new(MathF.Round(a.V, MidpointRounding.ToEven));
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Pow2(Lanes1 n) => new(BitConverter.Int32BitsToSingle(((int)n.V + 127) << 23));
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Abs(Lanes1 a) => new(MathF.Abs(a.V));
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Sqrt(Lanes1 a) => new(MathF.Sqrt(a.V));
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Lanes1 SelectLess(Lanes1 a, Lanes1 b, Lanes1 ifLess, Lanes1 otherwise) => a.V < b.V ? ifLess : otherwise;
}
