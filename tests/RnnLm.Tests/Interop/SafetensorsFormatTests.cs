using System.Buffers.Binary;
using System.Text;
using CsCheck;
using RnnLm.Interop;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Interop;

/// <summary>
/// The safetensors reader and writer: a round trip keeps every tensor and the metadata; headers that lie, offsets
/// that overlap, leave gaps or run past the file, and malformed JSON are refused with an InvalidDataException naming
/// the file and the tensor; and under fuzzing (fixed seeds, bounded counts) nothing else escapes.
/// </summary>
public class SafetensorsFormatTests
{
    private static SafetensorsFile Sample() => new(
    [
        SafetensorsTensor.FromFloats("a.weight", [1f, -2f, 3.5f, float.MaxValue, -0f, 1e-30f], 2, 3),
        SafetensorsTensor.FromInt64("ids", [5, -1, long.MaxValue], 3),
        SafetensorsTensor.FromFloats("scalar", [7f]),
        SafetensorsTensor.FromFloats("empty", [], 0, 4),
        SafetensorsTensor.FromFloats("b", [0.25f, 0.5f], 2),
    ], new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"" });

    /// <summary>A file from a header text and data, the header's length written in front.</summary>
    private static byte[] Raw(string header, int dataBytes, ulong? claimedLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    private static InvalidDataException Refused(byte[] bytes, string name = "test.safetensors") =>
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(new MemoryStream(bytes), name));

    [Fact]
    public void ARoundTripKeepsTensorsShapesDtypesOrderAndMetadata()
    {
        using var tmp = new CliRunner.TempDir();
        var file = Sample();
        file.Write(tmp.File("x.safetensors"));
        var back = SafetensorsFile.Read(tmp.File("x.safetensors"));
        Assert.Equal(file.Tensors.Select(t => t.Name), back.Tensors.Select(t => t.Name));
        foreach (var (a, b) in file.Tensors.Zip(back.Tensors))
        {
            Assert.Equal(a.DType, b.DType);
            Assert.Equal(a.Shape, b.Shape);
            Assert.Equal(a.Data, b.Data);
        }
        Assert.Equal(file.Metadata, back.Metadata);
        Assert.Equal(new[] { 1f, -2f, 3.5f, float.MaxValue, -0f, 1e-30f }, back.Find("a.weight")!.ToFloat32("x"));
        Assert.Equal(new[] { 5L, -1, long.MaxValue }, back.Find("ids")!.ToInt64("x"));
        // The data starts 8-byte aligned, as the format's own writer leaves it.
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(tmp.File("x.safetensors")));
        Assert.Equal(0UL, n % 8);
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.tmp"));
    }

    [Fact]
    public void HalfBfloatAndDoubleAreConvertedAndOtherTypesRefusedNamingTheTensor()
    {
        var half = new byte[4];
        BinaryPrimitives.WriteHalfLittleEndian(half, (Half)1.5f);
        BinaryPrimitives.WriteHalfLittleEndian(half.AsSpan(2), (Half)(-0.25f));
        Assert.Equal(new[] { 1.5f, -0.25f }, new SafetensorsTensor("h", "F16", [2], half).ToFloat32("f"));
        var bf = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bf, (ushort)(BitConverter.SingleToInt32Bits(-3.0f) >> 16));
        Assert.Equal(new[] { -3.0f }, new SafetensorsTensor("bf", "BF16", [1], bf).ToFloat32("f"));
        var d = new byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(d, 0.1);
        Assert.Equal(new[] { 0.1f }, new SafetensorsTensor("d", "F64", [1], d).ToFloat32("f"));
        var e = Assert.Throws<InvalidDataException>(() => new SafetensorsTensor("mask", "BOOL", [2], [1, 0]).ToFloat32("model.safetensors"));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("'mask'", e.Message);
        Assert.Contains("BOOL", e.Message);
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "not valid JSON", null)]
    [InlineData("[1,2]", 0, "not an object", null)]
    [InlineData("{\"__metadata__\":{\"n\":3}}", 0, "must be strings", null)]
    [InlineData("{\"__metadata__\":[]}", 0, "not an object", null)]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "appears twice", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative integer", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "non-negative integer", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "not 2", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end before", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "lacks data_offsets", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8, "unexpected", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "too large", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "run past the end", "'w'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "belong to no tensor", null)]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap", "'b'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20, "gap", "'b'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "gap", "'a'")]
    public void MalformedHeadersAreRefusedNamingTheFileAndTheTensor(string header, int dataBytes, string why, string? tensor)
    {
        var e = Refused(Raw(header, dataBytes));
        Assert.StartsWith("test.safetensors: ", e.Message);
        Assert.Contains(why, e.Message);
        if (tensor != null) Assert.Contains(tensor, e.Message);
    }

    [Fact]
    public void TensorsMayBeListedInAnyOrderWhenTheirOffsetsTileTheData()
    {
        var file = SafetensorsFile.Read(new MemoryStream(Raw(
            "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}   ", 8)), "x");
        Assert.Equal(["a", "b"], file.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void HeaderLengthsThatLieAreRefusedBeforeAnythingIsAllocated()
    {
        Assert.Contains("at most 100000000", Refused(Raw("{}", 0, claimedLength: 100_000_001)).Message);
        Assert.Contains("at most", Refused(Raw("{}", 0, claimedLength: ulong.MaxValue)).Message);
        Assert.Contains("only 2 follow", Refused(Raw("{}", 0, claimedLength: 3)).Message);
        Assert.Contains("8-byte header length", Refused([1, 2, 3]).Message);
        var invalid = Raw("{\"ab\":{}}", 0);
        invalid[10] = 0xFF;  // a byte that is never UTF-8, in a tensor's name
        Assert.Contains("not valid UTF-8", Refused(invalid).Message);
    }

    [Fact]
    public void AMissingFileSaysSo()
    {
        var e = Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Read("no-such-dir/none.safetensors"));
        Assert.Contains("none.safetensors", e.Message);
    }

    [Fact]
    public void WritingIsRefusedOverAnExistingFileUnlessOverwriteAndLeavesNoTemporaryFile()
    {
        using var tmp = new CliRunner.TempDir();
        string path = tmp.File("m.safetensors");
        File.WriteAllText(path, "keep me");
        var e = Assert.Throws<IOException>(() => Sample().Write(path));
        Assert.Contains("already exists", e.Message);
        Assert.Equal("keep me", File.ReadAllText(path));
        Sample().Write(path, overwrite: true);
        Assert.Equal(5, SafetensorsFile.Read(path).Tensors.Count);
        Assert.Single(Directory.GetFiles(tmp.Path));
    }

    /// <summary>Reads bytes: true when they read, false for an InvalidDataException; anything else fails the test.</summary>
    private static bool TryRead(byte[] bytes)
    {
        try
        {
            var f = SafetensorsFile.Read(new MemoryStream(bytes), "fuzz.safetensors");
            foreach (var t in f.Tensors) Assert.Equal(t.ElementCount() * SafetensorsDType.SizeOf(t.DType)!.Value, t.Data.Length);
            return true;
        }
        catch (InvalidDataException e)
        {
            Assert.StartsWith("fuzz.safetensors: ", e.Message);
            return false;
        }
    }

    [Fact]
    public void MutatedTruncatedAndLyingFilesReadOrAreRefusedCleanly()
    {
        byte[] good = Sample().ToBytes();
        Assert.True(TryRead(good));
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(good);
        int refused = 0;
        // Byte flips, mostly in the header (where the lies are), some in the data.
        Gen.Select(Gen.Int[0, good.Length - 1], Gen.Byte, Gen.Int[0, 3]).Sample((at, value, inHeader) =>
        {
            var b = (byte[])good.Clone();
            b[inHeader > 0 ? at % headerEnd : at] = value;
            if (!TryRead(b)) refused++;
        }, iter: FuzzBudget.Iter(400), seed: "0N0XIzNsQ0O2", threads: 1);
        // Every truncation is refused.
        Gen.Int[0, good.Length - 1].Sample(len => Assert.False(TryRead(good.AsSpan(0, len).ToArray())), iter: FuzzBudget.Iter(150), seed: "0N0XIzNsQ0O2", threads: 1);
        // Header lengths that lie.
        Gen.OneOf(Gen.ULong, Gen.ULong[0, (ulong)good.Length + 16]).Sample(lie =>
        {
            var b = (byte[])good.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(b, lie);
            if (lie != (ulong)(headerEnd - 8)) Assert.False(TryRead(b));
        }, iter: FuzzBudget.Iter(150), seed: "0N0XIzNsQ0O2", threads: 1);
        // Digits of the header's numbers changed: shapes and offsets that no longer agree.
        var digits = Enumerable.Range(8, headerEnd - 8).Where(i => good[i] is >= (byte)'0' and <= (byte)'9').ToArray();
        Gen.Select(Gen.Int[0, digits.Length - 1], Gen.Int['0', '9']).Sample((i, d) =>
        {
            var b = (byte[])good.Clone();
            b[digits[i]] = (byte)d;
            if (!TryRead(b)) refused++;
        }, iter: FuzzBudget.Iter(300), seed: "0N0XIzNsQ0O2", threads: 1);
        Assert.True(refused > 100, $"only {refused} mutations were refused");
    }
}
