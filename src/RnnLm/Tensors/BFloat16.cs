namespace RnnLm.Tensors;

/// <summary>
/// bfloat16 conversions: a bfloat16 is the top 16 bits of a float32 (sign, 8-bit exponent, 7-bit mantissa), so
/// widening is exact and narrowing only rounds the mantissa.
/// </summary>
public static class BFloat16
{
    /// <summary>
    /// The bfloat16 nearest to x, ties to even (IEEE's default rounding), as its 16 bits. Infinities stay infinite,
    /// values past the largest bfloat16 round to infinity, subnormals round like any other value (the bits are
    /// monotonic in the value), and a NaN stays a NaN of the same sign (quiet, since rounding could clear every
    /// mantissa bit that marks it).
    /// </summary>
    public static ushort FromSingle(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        if (float.IsNaN(x)) return (ushort)((bits >> 16) | 0x0040);
        // Adding 0x7FFF rounds up past the halfway point; the low bit of the kept part breaks ties towards even.
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>The float32 of a bfloat16's bits (exact).</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>x rounded to bfloat16 and back: the value a bfloat16 weight holds.</summary>
    public static float Round(float x) => ToSingle(FromSingle(x));
}
