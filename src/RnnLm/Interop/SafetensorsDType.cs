namespace RnnLm.Interop;

/// <summary>
/// The element types of the safetensors format, by the names its header spells ("F32", "BF16", ...), and their sizes
/// in bytes. The reader knows every one, so that any file's sizes can be checked; weights are taken as F32, or
/// converted from F16, BF16 and F64 (<see cref="SafetensorsTensor.ToFloat32"/>).
/// </summary>
public static class SafetensorsDType
{
    public const string F32 = "F32";
    public const string F16 = "F16";
    public const string BF16 = "BF16";
    public const string F64 = "F64";
    public const string I64 = "I64";
    public const string I32 = "I32";

    private static readonly Dictionary<string, int> Sizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
        ["I16"] = 2, ["U16"] = 2, [F16] = 2, [BF16] = 2,
        [I32] = 4, ["U32"] = 4, [F32] = 4,
        [F64] = 8, [I64] = 8, ["U64"] = 8,
    };

    /// <summary>The size of one element in bytes, or null for a name the format does not define.</summary>
    public static int? SizeOf(string dtype) => Sizes.TryGetValue(dtype, out int s) ? s : null;

    /// <summary>The names the format defines, for messages.</summary>
    public static string Known => string.Join(", ", Sizes.Keys);
}
