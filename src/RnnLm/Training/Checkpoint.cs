using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Optim;

namespace RnnLm.Training;

/// <summary>
/// Everything needed to use a model or to resume its training exactly: the model's sizes and weights, the
/// tokenizer, the training options, the optimiser's moments, the data position, the RNG states and the hidden
/// state carried between batches.
/// File layout: magic "RNNLMCKP", format version (int32), then length-prefixed sections (JSON header, tokenizer,
/// tensors), and a SHA-256 of all that comes before it, so truncation and corruption are detected on load.
/// Saving writes a temporary file beside the target and renames it over the target: a crash never leaves a
/// half-written checkpoint in place of a good one.
/// </summary>
public sealed class Checkpoint
{
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "RNNLMCKP"u8.ToArray();

    public required CheckpointHeader Header { get; init; }
    public required Tokenizer Tokenizer { get; init; }
    /// <summary>Parameter values by state_dict name.</summary>
    public required Dictionary<string, float[]> Parameters { get; init; }
    /// <summary>The optimiser's buffers (AdamW: every m, then every v), in parameter order.</summary>
    public required List<float[]> OptimizerState { get; init; }
    /// <summary>The hidden state carried into the next batch (stream mode), or empty.</summary>
    public required float[] CarriedState { get; init; }
    /// <summary>The file it was loaded from (null for one captured in memory): named in every error about it.</summary>
    public string? FilePath { get; init; }

    private CheckpointException Error(string message) => new(FilePath ?? "checkpoint", message);

    /// <summary>Captures a model (and, when training, its optimiser and carried state).</summary>
    public static Checkpoint Capture(RecurrentLanguageModel model, Tokenizer tokenizer, CheckpointHeader header,
        Optimizer? optimizer = null, ReadOnlySpan<float> carriedState = default)
    {
        return new Checkpoint
        {
            Header = header with { Model = model.Config, DropoutRngState = model.DropoutRng.GetState() },
            Tokenizer = tokenizer,
            Parameters = model.NamedParameters().ToDictionary(p => p.Name, p => (float[])p.Parameter.Value.Data.Clone()),
            OptimizerState = optimizer?.StateBuffers.Select(b => (float[])b.Clone()).ToList() ?? [],
            CarriedState = carriedState.ToArray(),
        };
    }

    /// <summary>A model with this checkpoint's sizes and weights; <paramref name="config"/> may change its dropout rates.</summary>
    public RecurrentLanguageModel CreateModel(int threads = 1, ModelConfig? config = null)
    {
        if (config != null && config with { Dropout = Header.Model.Dropout, WeightDropout = Header.Model.WeightDropout } != Header.Model)
            throw new ArgumentException("only the dropout rates of a checkpoint's model may change.", nameof(config));
        var model = new RecurrentLanguageModel(config ?? Header.Model, threads);
        foreach (var (name, p) in model.NamedParameters())
        {
            if (!Parameters.TryGetValue(name, out var values))
                throw Error($"the checkpoint has no tensor '{name}'.");
            if (values.Length != p.Length)
                throw Error($"tensor '{name}' has {values.Length} values, the model needs {p.Length}.");
            values.CopyTo(p.Value.Data, 0);
        }
        if (Header.DropoutRngState is { Length: 4 } s) model.DropoutRng.SetState(s);
        return model;
    }

    /// <summary>Restores the optimiser's moments and step count saved in this checkpoint.</summary>
    public void RestoreOptimizer(Optimizer optimizer)
    {
        var buffers = optimizer.StateBuffers;
        if (buffers.Count != OptimizerState.Count)
            throw Error($"the checkpoint has {OptimizerState.Count} optimiser buffers, the optimiser {buffers.Count}.");
        for (int i = 0; i < buffers.Count; i++)
        {
            if (buffers[i].Length != OptimizerState[i].Length)
                throw Error($"optimiser buffer {i} has {OptimizerState[i].Length} values, expected {buffers[i].Length}.");
            OptimizerState[i].CopyTo(buffers[i], 0);
        }
        optimizer.StepCount = Header.OptimizerSteps;
        optimizer.LearningRate = Header.LearningRate;
    }

    public void Save(string path)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var target = WriteFilter?.Invoke(fs) ?? fs;
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                using (var w = new BinaryWriter(new HashingStream(target, hash), Encoding.UTF8, leaveOpen: true))
                {
                    w.Write(Magic);
                    w.Write(FormatVersion);
                    WriteBytes(w, JsonSerializer.SerializeToUtf8Bytes(Header, JsonOptions));
                    WriteBytes(w, Tokenizer.ToBytes());
                    w.Write(Parameters.Count);
                    foreach (var (name, values) in Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        w.Write(name);
                        WriteFloats(w, values);
                    }
                    w.Write(OptimizerState.Count);
                    foreach (var b in OptimizerState) WriteFloats(w, b);
                    WriteFloats(w, CarriedState);
                }
                target.Write(hash.GetHashAndReset());
                target.Flush();
                fs.Flush(flushToDisk: true);
            }
            Rename(tmp, full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw new CheckpointException(full, $"the checkpoint could not be written ({e.Message}); the one saved before is unchanged.", e);
        }
    }

    /// <summary>Test seam: wraps the stream a checkpoint is written to (fault injection).</summary>
    internal static Func<Stream, Stream>? WriteFilter;

    /// <summary>Test seam: the final rename of the temporary file over the checkpoint.</summary>
    internal static Action<string, string> Rename = (from, to) => File.Move(from, to, overwrite: true);

    public static Checkpoint Load(string path)
    {
        if (Directory.Exists(path)) path = ModelDirectory.CheckpointIn(path);
        if (!File.Exists(path)) throw new CheckpointException(path, "no such checkpoint file.");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CheckpointException(path, e.Message, e); }
        if (bytes.Length < Magic.Length + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new CheckpointException(path, "not an RnnLm checkpoint (the file does not start with the RNNLMCKP marker).");
        int version = BitConverter.ToInt32(bytes, Magic.Length);
        if (version != FormatVersion)
            throw new CheckpointException(path, $"checkpoint format version {version}; this build of RnnLm reads version {FormatVersion}.");
        if (bytes.Length < Magic.Length + 4 + 32)
            throw new CheckpointException(path, "the checkpoint is truncated.");
        var body = bytes.AsSpan(0, bytes.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            throw new CheckpointException(path, "the checkpoint is corrupt or truncated (its SHA-256 does not match).");
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, 0, body.Length, writable: false), Encoding.UTF8);
            r.ReadBytes(Magic.Length + 4);
            var header = JsonSerializer.Deserialize<CheckpointHeader>(ReadBytes(r), JsonOptions)
                ?? throw new InvalidDataException("empty header.");
            header.Model.Validate();
            var tokenizer = Tokenizer.FromBytes(ReadBytes(r));
            if (tokenizer.VocabSize != header.Model.VocabSize)
                throw new InvalidDataException($"the tokenizer has {tokenizer.VocabSize} tokens, the model {header.Model.VocabSize}.");
            int n = r.ReadInt32();
            var parameters = new Dictionary<string, float[]>(StringComparer.Ordinal);
            for (int i = 0; i < n; i++) parameters[r.ReadString()] = ReadFloats(r);
            // A header whose sizes need more values than the file holds is corrupt: refuse it before a model of
            // those sizes is allocated.
            long stored = parameters.Values.Sum(v => (long)v.Length), needed = header.Model.ParameterCount();
            if (needed > stored)
                throw new InvalidDataException($"the header's sizes need {needed} parameter values; the file holds {stored}.");
            int m = r.ReadInt32();
            var opt = new List<float[]>();
            for (int i = 0; i < m; i++) opt.Add(ReadFloats(r));
            var carried = ReadFloats(r);
            return new Checkpoint
            {
                Header = header, Tokenizer = tokenizer, Parameters = parameters, OptimizerState = opt, CarriedState = carried,
                FilePath = path,
            };
        }
        // The bytes are in memory, so an IOException here is the format's (BinaryReader's own checks, such as a string
        // length that is negative), never the disk's.
        catch (Exception e) when (e is InvalidDataException or IOException or JsonException or ArgumentException or FormatException
                                      or OverflowException)
        {
            throw new CheckpointException(path, "the checkpoint is not readable: " + e.Message, e);
        }
    }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static void WriteBytes(BinaryWriter w, byte[] b) { w.Write(b.Length); w.Write(b); }

    private static byte[] ReadBytes(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > r.BaseStream.Length - r.BaseStream.Position) throw new InvalidDataException($"a section claims {n} bytes.");
        return r.ReadBytes(n);
    }

    private static void WriteFloats(BinaryWriter w, float[] values)
    {
        w.Write(values.Length);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static float[] ReadFloats(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || (long)n * 4 > r.BaseStream.Length - r.BaseStream.Position) throw new InvalidDataException($"a tensor claims {n} values.");
        var values = new float[n];
        r.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>Passes writes through to a stream while hashing them.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) { hash.AppendData(buffer); inner.Write(buffer); }
    }
}
