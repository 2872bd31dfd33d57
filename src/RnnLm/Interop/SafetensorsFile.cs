using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace RnnLm.Interop;

/// <summary>
/// The safetensors format, read and written with System.Text.Json and spans: an 8-byte little-endian header length,
/// a JSON header mapping each tensor name to its dtype, shape and data_offsets (relative to the end of the header),
/// an optional "__metadata__" object of string values, then the tensors' row-major bytes.
/// The reader takes nothing on trust: a header over 100 MB or beyond the file, malformed JSON, a duplicate name, an
/// unknown dtype, a shape whose size does not match its offsets, offsets that overlap, leave a gap or run past the
/// file, and bytes after the last tensor are all refused with an InvalidDataException naming the file and the tensor.
/// </summary>
public sealed class SafetensorsFile
{
    /// <summary>The largest header the reader accepts (the format's own limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    public SafetensorsFile(IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (t.Name == MetadataKey) throw new ArgumentException($"a tensor may not be named {MetadataKey}.", nameof(tensors));
            if (!seen.Add(t.Name)) throw new ArgumentException($"two tensors are named '{t.Name}'.", nameof(tensors));
        }
        Tensors = tensors;
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>The tensors in the order of their data.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor of that name, or null.</summary>
    public SafetensorsTensor? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);

    /// <summary>Reads and checks a file.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file (the message says why, naming it).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such safetensors file.", path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(fs, path);
    }

    /// <summary>Reads a whole stream (seekable, positioned at its start) as a safetensors file; source names it in errors.</summary>
    public static SafetensorsFile Read(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long length = stream.Length;
        if (length < 8) throw Error(source, $"the file has {length} bytes; a safetensors file starts with an 8-byte header length.");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes)
            throw Error(source, $"the header claims {headerLength} bytes; the reader accepts at most {MaxHeaderBytes}.");
        if ((long)headerLength > length - 8)
            throw Error(source, $"the header claims {headerLength} bytes but only {length - 8} follow its length (truncated?).");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataLength = length - 8 - (long)headerLength;
        var (entries, metadata) = ParseHeader(header, source);
        CheckOffsets(entries, dataLength, source);
        var tensors = new List<SafetensorsTensor>(entries.Count);
        long dataStart = 8 + (long)headerLength;
        foreach (var e in entries)
        {
            var data = new byte[e.End - e.Begin];
            stream.Position = dataStart + e.Begin;
            stream.ReadExactly(data);
            tensors.Add(new SafetensorsTensor(e.Name, e.DType, e.Shape, data));
        }
        return new SafetensorsFile(tensors, metadata);
    }

    /// <summary>
    /// Writes the file atomically (a temporary file renamed over path). The header is padded with spaces to a multiple
    /// of 8 bytes, as the format's own writer does, so the data starts aligned.
    /// </summary>
    /// <exception cref="IOException">path exists and overwrite is false, or it cannot be written.</exception>
    public void Write(string path, bool overwrite = false)
    {
        var header = HeaderBytes();
        AtomicFile.Write(path, overwrite, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            s.Write(len);
            s.Write(header);
            foreach (var t in Tensors) s.Write(t.Data);
        });
    }

    /// <summary>The whole file as bytes (for tests and in-memory use).</summary>
    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        var header = HeaderBytes();
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        ms.Write(len);
        ms.Write(header);
        foreach (var t in Tensors) ms.Write(t.Data);
        return ms.ToArray();
    }

    private byte[] HeaderBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (Metadata.Count > 0)
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in Metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in Tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType);
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Data.Length;
            }
            w.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    private static (List<Entry>, Dictionary<string, string>) ParseHeader(byte[] header, string source)
    {
        // Names are read as strings: invalid UTF-8 anywhere in the header is refused here, not met later.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw Error(source, "the header is not valid UTF-8.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw Error(source, $"the header is not valid JSON ({e.Message})."); }
        catch (ArgumentException e) { throw Error(source, $"the header is not valid UTF-8 JSON ({e.Message})."); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Error(source, $"the header is a JSON {root.ValueKind}, not an object.");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (!names.Add(p.Name)) throw Error(source, $"'{p.Name}' appears twice in the header.");
                if (p.Name == MetadataKey)
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw Error(source, $"{MetadataKey} is a JSON {p.Value.ValueKind}, not an object.");
                    foreach (var m in p.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Error(source, $"{MetadataKey} value '{m.Name}' is a JSON {m.Value.ValueKind}; metadata values must be strings.");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Error(source, $"{MetadataKey} key '{m.Name}' appears twice.");
                    }
                    continue;
                }
                entries.Add(ParseEntry(p.Name, p.Value, source));
            }
            return (entries, metadata);
        }
    }

    private static Entry ParseEntry(string name, JsonElement e, string source)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Error(source, $"tensor '{name}': its header entry is a JSON {e.ValueKind}, not an object.");
        string? dtype = null;
        long[]? shape = null, offsets = null;
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "dtype" when dtype == null:
                    if (p.Value.ValueKind != JsonValueKind.String) throw Error(source, $"tensor '{name}': dtype is not a string.");
                    dtype = p.Value.GetString()!;
                    break;
                case "shape" when shape == null: shape = Integers(p.Value, name, "shape", source); break;
                case "data_offsets" when offsets == null: offsets = Integers(p.Value, name, "data_offsets", source); break;
                default: throw Error(source, $"tensor '{name}': unexpected or repeated field '{p.Name}' (an entry has dtype, shape and data_offsets).");
            }
        }
        if (dtype == null || shape == null || offsets == null)
            throw Error(source, $"tensor '{name}': the entry lacks {(dtype == null ? "dtype" : shape == null ? "shape" : "data_offsets")}.");
        int size = SafetensorsDType.SizeOf(dtype) ?? throw Error(source, $"tensor '{name}': unknown dtype '{dtype}' (the format defines {SafetensorsDType.Known}).");
        if (offsets.Length != 2) throw Error(source, $"tensor '{name}': data_offsets has {offsets.Length} numbers, not 2 (begin, end).");
        long begin = offsets[0], end = offsets[1];
        if (end < begin) throw Error(source, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin.");
        long count = SafetensorsTensor.ElementCount(shape) ?? throw Error(source, $"tensor '{name}': shape {SafetensorsTensor.ShapeString(shape)} is too large.");
        long bytes;
        try { bytes = checked(count * size); }
        catch (OverflowException) { throw Error(source, $"tensor '{name}': shape {SafetensorsTensor.ShapeString(shape)} is too large."); }
        if (bytes != end - begin)
            throw Error(source, $"tensor '{name}': shape {SafetensorsTensor.ShapeString(shape)} of {dtype} needs {bytes} bytes but data_offsets [{begin}, {end}] hold {end - begin}.");
        if (bytes > Array.MaxLength) throw Error(source, $"tensor '{name}': {bytes} bytes is more than one tensor may hold here.");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] Integers(JsonElement e, string name, string field, string source)
    {
        if (e.ValueKind != JsonValueKind.Array) throw Error(source, $"tensor '{name}': {field} is not an array.");
        var values = new long[e.GetArrayLength()];
        int i = 0;
        foreach (var x in e.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out long v) || v < 0)
                throw Error(source, $"tensor '{name}': {field}[{i}] is not a non-negative integer ({x.GetRawText()}).");
            values[i++] = v;
        }
        return values;
    }

    /// <summary>In order of their offsets, the tensors must tile the data exactly: no overlap, no gap, nothing past the end or after the last.</summary>
    private static void CheckOffsets(List<Entry> entries, long dataLength, string source)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long cursor = 0;
        Entry? previous = null;
        foreach (var e in entries)
        {
            if (e.End > dataLength)
                throw Error(source, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] run past the end of the data ({dataLength} bytes; truncated?).");
            if (e.Begin < cursor)
                throw Error(source, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}].");
            if (e.Begin > cursor)
                throw Error(source, $"tensor '{e.Name}': data_offsets begin at {e.Begin}, leaving a gap after byte {cursor}.");
            cursor = e.End;
            previous = e;
        }
        if (cursor != dataLength)
            throw Error(source, $"the tensors end at byte {cursor} of the data but the file holds {dataLength}: {dataLength - cursor} bytes belong to no tensor.");
    }

    private static InvalidDataException Error(string source, string message) => new($"{source}: {message}");
}
