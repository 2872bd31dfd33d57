using RnnLm.Training;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Training;

/// <summary>
/// A checkpoint write that fails (a full disk, an I/O error) at any point, in the header, the tensors, the trailer or
/// the final rename, says so clearly, leaves no temporary file, and leaves the checkpoint saved before it loadable
/// and unchanged. Runs alone: it sets a process-wide test seam.
/// </summary>
[Collection(SerialCollection.Name)]
public class CheckpointWriteFailureTests
{
    /// <summary>Passes writes through until `limit` bytes, then fails as a full disk does.</summary>
    private sealed class FullDisk(Stream inner, long limit) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > limit) throw new IOException("No space left on device");
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }

    [Fact]
    public void AFailedWriteAtAnyPointKeepsTheEarlierCheckpoint()
    {
        using var tmp = new CliRunner.TempDir();
        string run = tmp.File("run");
        LanguageModel.Train(TrainerTests.Text, null, TrainerTests.Small, run).Dispose();
        string last = Path.Combine(run, ModelDirectory.LastFile);
        byte[] before = File.ReadAllBytes(last);
        var ckpt = Checkpoint.Load(last);
        ckpt.Parameters["fc.bias"][0] += 1; // a different checkpoint, so that a half-written one would show
        long size = before.Length;
        // Offsets in the header, the tokenizer, the tensors, the optimiser state, and the trailing hash.
        long[] limits = [4, 40, size / 4, size / 2, 3 * size / 4, size - 20, size - 1];
        var rename = Checkpoint.Rename;
        try
        {
            foreach (long limit in limits)
            {
                Checkpoint.WriteFilter = s => new FullDisk(s, limit);
                var e = Assert.Throws<CheckpointException>(() => ckpt.Save(last));
                Assert.Contains("could not be written", e.Message);
                Assert.Contains("No space left on device", e.Message);
                Assert.Contains(last, e.Message);
                Assert.Equal(before, File.ReadAllBytes(last));
                Assert.Empty(Directory.EnumerateFiles(run, "*.tmp"));
            }
            Checkpoint.WriteFilter = null;
            Checkpoint.Rename = (_, _) => throw new IOException("Input/output error");
            var r = Assert.Throws<CheckpointException>(() => ckpt.Save(last));
            Assert.Contains("Input/output error", r.Message);
            Assert.Equal(before, File.ReadAllBytes(last));
            Assert.Empty(Directory.EnumerateFiles(run, "*.tmp"));
        }
        finally
        {
            Checkpoint.WriteFilter = null;
            Checkpoint.Rename = rename;
        }
        Checkpoint.Load(last).CreateModel().Dispose();   // the earlier checkpoint still loads
        ckpt.Save(last);                                 // and a write that works replaces it
        Assert.Equal(ckpt.Parameters["fc.bias"][0], Checkpoint.Load(last).Parameters["fc.bias"][0]);
    }
}
