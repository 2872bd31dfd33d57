// The harness AFL++ runs (bench/sharpfuzz.sh): one reader per run, fed each input; a reader may accept the input or
// throw its documented error type, and anything else escaping is a crash that AFL++ keeps.
using System.Security.Cryptography;
using RnnLm.Data;
using RnnLm.Training;
using SharpFuzz;

if (args.Length != 1 || args[0] is not ("checkpoint" or "corpus"))
{
    Console.Error.WriteLine("usage: RnnLm.Fuzz checkpoint|corpus  (run under afl-fuzz; see bench/sharpfuzz.sh)");
    return 2;
}
string scratch = Path.Combine(Path.GetTempPath(), $"rnnlm-fuzz-{Environment.ProcessId}.bin");
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    byte[] bytes = buffer.ToArray();
    if (args[0] == "checkpoint")
    {
        // The trailer is a SHA-256 of the rest: fix it up, or nearly every mutation stops at the checksum and the
        // fuzzer never reaches the parser behind it.
        if (bytes.Length > 44) SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).CopyTo(bytes, bytes.Length - 32);
        File.WriteAllBytes(scratch, bytes);
        try { Checkpoint.Load(scratch).CreateModel().Dispose(); }
        catch (CheckpointException) { }
    }
    else
    {
        try
        {
            string text = CorpusReader.Decode(bytes, "input");
            if (text.Contains('\0')) throw new InvalidOperationException("a NUL reached the decoded text");
        }
        catch (CorpusException) { }
    }
});
return 0;
