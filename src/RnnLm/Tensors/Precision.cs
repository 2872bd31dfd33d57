namespace RnnLm.Tensors;

/// <summary>
/// How the output layer's weights are stored for inference (generation, scoring, evaluation). Training is always
/// float32; the reduced precisions are a copy made from the float32 weights, with float32 accumulation.
/// </summary>
public enum Precision
{
    /// <summary>The trained float32 weights, as they are.</summary>
    F32,
    /// <summary>bfloat16: each weight rounded to the nearest even of the top 16 bits of its float32 (half the bytes).</summary>
    Bf16,
    /// <summary>
    /// int8 with one float32 scale per row: q = round(w / s), s = max|row| / 127 (a quarter of the bytes). Products
    /// round their input to 16-bit integers per row and sum exactly in int32 (<see cref="QuantizedMatrix"/>).
    /// </summary>
    Int8,
}

/// <summary>Names of the precisions as the command line spells them: f32, bf16, int8.</summary>
public static class Precisions
{
    public static string Name(this Precision precision) => precision switch
    {
        Precision.F32 => "f32",
        Precision.Bf16 => "bf16",
        Precision.Int8 => "int8",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown precision."),
    };

    /// <summary>Parses "f32", "bf16" or "int8"; otherwise an ArgumentException naming the value.</summary>
    public static Precision Parse(string name, string what = "precision")
    {
        foreach (var p in Enum.GetValues<Precision>())
            if (p.Name() == name) return p;
        throw new ArgumentException($"{what} must be f32, bf16 or int8, got '{name}'.", what);
    }
}
