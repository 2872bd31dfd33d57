using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace RnnLm.Interop;

/// <summary>
/// One tensor of a safetensors file: its name, element type (<see cref="SafetensorsDType"/>), shape and row-major
/// little-endian bytes. The reader has checked that the bytes fit the shape and type.
/// </summary>
public sealed class SafetensorsTensor
{
    public SafetensorsTensor(string name, string dtype, long[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dtype);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        int size = SafetensorsDType.SizeOf(dtype) ?? throw new ArgumentException($"tensor '{name}': unknown dtype '{dtype}'.", nameof(dtype));
        long count = ElementCount(shape) ?? throw new ArgumentException($"tensor '{name}': the shape [{string.Join(", ", shape)}] is not a valid size.", nameof(shape));
        if (count * size != data.Length)
            throw new ArgumentException($"tensor '{name}': {data.Length} bytes for shape [{string.Join(", ", shape)}] of {dtype} ({count * size} expected).", nameof(data));
        Name = name;
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }
    public string DType { get; }
    public long[] Shape { get; }
    /// <summary>The elements, row-major, little-endian.</summary>
    public byte[] Data { get; }

    public long ElementCount() => ElementCount(Shape)!.Value;

    /// <summary>The shape as the format's header and PyTorch print it: [2, 3].</summary>
    public string ShapeText => ShapeString(Shape);

    public static string ShapeString(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>A float32 tensor of these values (copied).</summary>
    public static SafetensorsTensor FromFloats(string name, ReadOnlySpan<float> values, params long[] shape)
    {
        var bytes = new byte[values.Length * 4];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(bytes);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return new SafetensorsTensor(name, SafetensorsDType.F32, shape, bytes);
    }

    /// <summary>An int64 tensor of these values (token ids).</summary>
    public static SafetensorsTensor FromInt64(string name, ReadOnlySpan<long> values, params long[] shape)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return new SafetensorsTensor(name, SafetensorsDType.I64, shape, bytes);
    }

    /// <summary>
    /// The values as float32: F32 as stored, F16, BF16 and F64 converted (F64 rounded to nearest). Any other type is
    /// refused with an InvalidDataException naming the file (source) and the tensor.
    /// </summary>
    public float[] ToFloat32(string source)
    {
        int n = checked((int)ElementCount());
        var v = new float[n];
        var d = Data.AsSpan();
        switch (DType)
        {
            case SafetensorsDType.F32:
                if (BitConverter.IsLittleEndian) d.CopyTo(MemoryMarshal.AsBytes(v.AsSpan()));
                else for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(d.Slice(i * 4));
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < n; i++) v[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(d.Slice(i * 2));
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < n; i++) v[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(i * 2)) << 16);
                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < n; i++) v[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(d.Slice(i * 8));
                break;
            default:
                throw new InvalidDataException($"{source}: tensor '{Name}' has dtype {DType}; weights must be F32 (F16, BF16 and F64 are converted).");
        }
        return v;
    }

    /// <summary>The values as int64 (I64, or I32 widened); any other type is refused naming the file and the tensor.</summary>
    public long[] ToInt64(string source)
    {
        int n = checked((int)ElementCount());
        var v = new long[n];
        var d = Data.AsSpan();
        if (DType == SafetensorsDType.I64) for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadInt64LittleEndian(d.Slice(i * 8));
        else if (DType == SafetensorsDType.I32) for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadInt32LittleEndian(d.Slice(i * 4));
        else throw new InvalidDataException($"{source}: tensor '{Name}' has dtype {DType}; token ids must be I64 or I32.");
        return v;
    }

    /// <summary>The product of the dimensions, or null when one is negative or the product overflows.</summary>
    internal static long? ElementCount(long[] shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0) return null;
            try { n = checked(n * d); }
            catch (OverflowException) { return null; }
        }
        return n;
    }
}
