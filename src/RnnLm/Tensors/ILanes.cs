namespace RnnLm.Tensors;

/// <summary>
/// A register of float lanes (1, 4, 8 or 16) with the IEEE operations the element-wise kernels are written in, so
/// that each function (exp, tanh, the softmax row, AdamW) is written once, generically, and runs at every width.
/// Every operation is exact or correctly rounded per lane (Max/Min as x86's maxps/minps: a &gt; b ? a : b), so a
/// lane computes the same bits whatever the width: the scalar <see cref="Lanes1"/> is the tail of every vector body.
/// </summary>
internal unsafe interface ILanes<TSelf> where TSelf : unmanaged, ILanes<TSelf>
{
    /// <summary>Lanes per register.</summary>
    static abstract int Count { get; }
    static abstract TSelf Load(float* p);
    static abstract void Store(TSelf v, float* p);
    static abstract TSelf Create(float x);
    static abstract TSelf Add(TSelf a, TSelf b);
    static abstract TSelf Subtract(TSelf a, TSelf b);
    static abstract TSelf Multiply(TSelf a, TSelf b);
    static abstract TSelf Divide(TSelf a, TSelf b);
    /// <summary>a·b + c with one rounding.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);
    /// <summary>c - a·b with one rounding.</summary>
    static abstract TSelf MultiplyAddNegated(TSelf a, TSelf b, TSelf c);
    /// <summary>a &gt; b ? a : b per lane.</summary>
    static abstract TSelf Max(TSelf a, TSelf b);
    /// <summary>a &lt; b ? a : b per lane.</summary>
    static abstract TSelf Min(TSelf a, TSelf b);
    /// <summary>Rounded to the nearest integer, ties to even.</summary>
    static abstract TSelf Round(TSelf a);
    /// <summary>2ⁿ for integral n in [-126, 127] (n + 127 put in the exponent field).</summary>
    static abstract TSelf Pow2(TSelf n);
    static abstract TSelf Abs(TSelf a);
    static abstract TSelf Sqrt(TSelf a);
    /// <summary>a &lt; b ? ifLess : otherwise per lane.</summary>
    static abstract TSelf SelectLess(TSelf a, TSelf b, TSelf ifLess, TSelf otherwise);
}
