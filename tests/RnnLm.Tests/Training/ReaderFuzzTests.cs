using System.Security.Cryptography;
using System.Text;
using CsCheck;
using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Tests.Cli;
using RnnLm.Training;

namespace RnnLm.Tests.Training;

/// <summary>
/// Property-based fuzzing with fixed seeds and bounded counts: the checkpoint reader over mutated files, the corpus
/// reader over random bytes and UTF-8 edge cases, and the tokenizers' round trips. A reader either gives a valid
/// result or throws its documented error type; nothing else escapes, and nothing hangs.
/// </summary>
public class ReaderFuzzTests
{
    private static byte[] GoodCheckpoint(CellType cell)
    {
        using var tmp = new CliRunner.TempDir();
        var o = TrainerTests.Small with { Cell = cell, Steps = 2, ValidEvery = 2, Layers = 2 };
        LanguageModel.Train(TrainerTests.Text, null, o, tmp.Path).Dispose();
        return File.ReadAllBytes(Path.Combine(tmp.Path, ModelDirectory.LastFile));
    }

    /// <summary>Loads bytes as a checkpoint and builds its model: true when it loads, false for a CheckpointException.</summary>
    private static bool TryLoad(byte[] bytes, string path)
    {
        File.WriteAllBytes(path, bytes);
        try
        {
            var c = Checkpoint.Load(path);
            c.CreateModel().Dispose();
            return true;
        }
        catch (CheckpointException) { return false; }
    }

    private static byte[] Rehash(byte[] bytes)
    {
        var fixedUp = (byte[])bytes.Clone();
        SHA256.HashData(fixedUp.AsSpan(0, fixedUp.Length - 32)).CopyTo(fixedUp, fixedUp.Length - 32);
        return fixedUp;
    }

    [Theory]
    [InlineData(CellType.Elman)]
    [InlineData(CellType.Lstm)]
    public void MutatedCheckpointsLoadOrAreRefusedCleanly(CellType cell)
    {
        byte[] good = GoodCheckpoint(cell);
        using var tmp = new CliRunner.TempDir();
        string path = tmp.File("fuzz.ckpt");
        Assert.True(TryLoad(good, path));
        int refused = 0, loaded = 0;
        // Byte flips anywhere, with the hash fixed up so that the reader must look past the checksum.
        Gen.Select(Gen.Int[0, good.Length - 33], Gen.Byte, Gen.Bool).Sample((at, value, rehash) =>
        {
            var b = (byte[])good.Clone();
            b[at] = value;
            if (TryLoad(rehash ? Rehash(b) : b, path)) loaded++; else refused++;
        }, iter: FuzzBudget.Iter(300), seed: "0N0XIzNsQ0O2", threads: 1);
        // Truncations.
        Gen.Int[0, good.Length - 1].Sample(len => Assert.False(TryLoad(good.AsSpan(0, len).ToArray(), path)), iter: FuzzBudget.Iter(100), seed: "0N0XIzNsQ0O2", threads: 1);
        // Lies about lengths: an int32 anywhere past the magic set to a large or negative value, hash fixed up.
        Gen.Select(Gen.Int[12, good.Length - 40], Gen.OneOf(-1, int.MaxValue, 1 << 28, 65536, 0)).Sample((at, lie) =>
        {
            var b = (byte[])good.Clone();
            BitConverter.GetBytes(lie).CopyTo(b, at);
            if (TryLoad(Rehash(b), path)) loaded++; else refused++;
        }, iter: FuzzBudget.Iter(300), seed: "0N0XIzNsQ0O2", threads: 1);
        Assert.True(refused > 0, "some mutations must be refused");
    }

    /// <summary>The inputs coverage-guided fuzzing found (bench/sharpfuzz.sh), kept as regression cases.</summary>
    [Fact]
    public void TheCheckpointsFuzzingFoundAreRefusedNamingTheFile()
    {
        var found = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "fuzz"), "checkpoint-*.ckpt");
        Assert.NotEmpty(found);
        foreach (var file in found)
        {
            var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(file).CreateModel().Dispose());
            Assert.Contains(Path.GetFileName(file), e.Message);
        }
    }

    [Fact]
    public void TheCorpusReaderTakesTextOrSaysWhyNot()
    {
        using var tmp = new CliRunner.TempDir();
        string path = tmp.File("corpus.txt");
        string[] edge = ["\uFEFF", "\r\n", "\r", "\n", "é", "😀", "\u0000", "a", " ", "\t", "€"];
        var bytes = Gen.OneOf(
            Gen.Byte.Array[0, 400],
            Gen.OneOf(edge).Array[0, 200].Select(parts => Encoding.UTF8.GetBytes(string.Concat(parts))),
            // Invalid UTF-8: lone continuation bytes, overlong forms, surrogates encoded in UTF-8, truncated sequences.
            Gen.OneOf<byte[]>([0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF0, 0x9F], [0xFF])
                .Select(Gen.Byte.Array[0, 50], (bad, good) => good.Concat(bad).Concat(good).ToArray()));
        bytes.Sample(data =>
        {
            File.WriteAllBytes(path, data);
            try
            {
                string text = CorpusReader.ReadText(path);
                Assert.DoesNotContain('\0', text);
                Assert.Equal(text, string.Concat(CorpusReader.ReadChunks(path)));
            }
            catch (CorpusException e)
            {
                Assert.Contains("corpus.txt", e.Message);
            }
        }, iter: FuzzBudget.Iter(400), seed: "0N0XIzNsQ0O2", threads: 1);
    }

    [Fact]
    public void TokenizersGiveBackTheTextTheyPromiseTo()
    {
        var text = Gen.OneOf(Gen.String, Gen.String[Gen.Char['a', 'e'], 0, 60]);
        text.Sample(s =>
        {
            // A character tokenizer built from the text decodes its ids back to the text.
            var chars = CharTokenizer.Build(s.Length == 0 ? "x" : s);
            Assert.Equal(s, chars.Decode(chars.Encode(s)));
            // GPT-2's byte-level BPE round-trips any valid Unicode.
            if (!s.Any(char.IsSurrogate))
            {
                var gpt2 = Gpt2Tokenizer.Build(s + " the");
                Assert.Equal(s, gpt2.Decode(gpt2.Encode(s)));
            }
        }, iter: FuzzBudget.Iter(200), seed: "0N0XIzNsQ0O2", threads: 1);
    }
}
