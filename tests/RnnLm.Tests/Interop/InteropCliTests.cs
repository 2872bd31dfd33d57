using RnnLm.Interop;
using RnnLm.Nn;
using RnnLm.Tests.Cli;

namespace RnnLm.Tests.Interop;

/// <summary>
/// rnnlm export and import as a user runs them: exit 0 and the files written; an existing file without --force,
/// a bad --format, a truncated or lying file, a vocabulary that does not fit and a failed --check each give a message
/// naming the file and exit 1 (2 for a usage error), and leave nothing half-written.
/// </summary>
public class InteropCliTests
{
    [Theory]
    [InlineData("export")]
    [InlineData("import")]
    public void EveryOptionInTheHelpIsInTheReadme(string command) => new HelpTests().EveryOptionInTheHelpIsInTheReadmeAndTheUsageSaysRnnlm(command);

    [Fact]
    public void ExportAndImportRoundTripThroughTheCommandLine()
    {
        using var tmp = new CliRunner.TempDir();
        using var lm = InteropModels.Random(CellType.Gru);
        InteropModels.SaveFolder(lm, tmp.File("run"));
        string st = tmp.File("out/model.safetensors"), onnx = tmp.File("out/model.onnx");

        var r = CliRunner.Run("export", "--model", tmp.File("run"), "--format", "safetensors", "--out", st);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(File.Exists(tmp.File("out/vocab.json")));
        r = CliRunner.Run("export", "--model", tmp.File("run"), "--format", "onnx", "--out", onnx);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(OnnxExport.ToBytes(lm), File.ReadAllBytes(onnx));

        // An existing file without --force: refused, unchanged; with --force: replaced.
        var before = File.ReadAllBytes(st);
        r = CliRunner.Run("export", "--model", tmp.File("run"), "--format", "safetensors", "--out", st);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("already exists", r.Err);
        Assert.Contains("--force", r.Err);
        Assert.Equal(before, File.ReadAllBytes(st));
        r = CliRunner.Run("export", "--model", tmp.File("run"), "--format", "safetensors", "--out", st, "--force");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Empty(Directory.GetFiles(tmp.File("out"), "*.tmp"));

        r = CliRunner.Run("import", "--safetensors", st, "--out", tmp.File("imported"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("from the file's metadata", r.Out);
        using (var back = LanguageModel.Load(tmp.File("imported")))
            Assert.Equal(lm.Model.Fc.Weight.Value.Data, back.Model.Fc.Weight.Value.Data);
        var again = CliRunner.Run("import", "--safetensors", st, "--out", tmp.File("imported"));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already holds a model", again.Err);
    }

    [Fact]
    public void ImportChecksAgainstPyTorchsLogitsAndRefusesWhatDoesNotFit()
    {
        using var tmp = new CliRunner.TempDir();
        string weights = InteropModels.PyTorchData("lstm.safetensors"), vocab = InteropModels.PyTorchData("lstm.vocab.json"),
            check = InteropModels.PyTorchData("lstm.check.safetensors");
        var r = CliRunner.Run("import", "--safetensors", weights, "--vocab", vocab, "--out", tmp.File("m"), "--check", check);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"check: 100 logits, max abs diff .*, 0 beyond it: ok", r.Out);
        using (var lm = LanguageModel.Load(tmp.File("m")))
            Assert.Equal(5, lm.Generate("w1 w2", 5).Count());

        // Logits that are not this model's: the check fails and nothing is written.
        var reference = SafetensorsFile.Read(check);
        var logits = reference.Find(LogitCheck.Logits)!;
        var shifted = logits.ToFloat32("x").Select((v, i) => i % 7 == 0 ? v + 0.01f : v).ToArray();
        new SafetensorsFile([reference.Find(LogitCheck.InputIds)!, SafetensorsTensor.FromFloats(LogitCheck.Logits, shifted, logits.Shape)])
            .Write(tmp.File("wrong.safetensors"));
        r = CliRunner.Run("import", "--safetensors", weights, "--vocab", vocab, "--out", tmp.File("w"), "--check", tmp.File("wrong.safetensors"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("FAILED", r.Out);
        Assert.False(Directory.Exists(tmp.File("w")));

        // A truncated file names itself.
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(tmp.File("cut.safetensors"), bytes.AsSpan(0, bytes.Length - 10).ToArray());
        r = CliRunner.Run("import", "--safetensors", tmp.File("cut.safetensors"), "--vocab", vocab, "--out", tmp.File("c"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("cut.safetensors", r.Err);
        Assert.Contains("truncated", r.Err);

        // A vocabulary of another size than the embedding's.
        VocabularyFile.Write(tmp.File("other.vocab.json"), [.. VocabularyFile.Read(vocab), "w99"]);
        r = CliRunner.Run("import", "--safetensors", weights, "--vocab", tmp.File("other.vocab.json"), "--out", tmp.File("v"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("other.vocab.json has 11 tokens", r.Err);

        // No vocabulary for a file without RnnLm's metadata; a format there is none of; a folder with no model.
        r = CliRunner.Run("import", "--safetensors", weights, "--out", tmp.File("n"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--vocab", r.Err);
        r = CliRunner.Run("export", "--model", tmp.File("m"), "--format", "tflite", "--out", tmp.File("x"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--format", r.Err);
        r = CliRunner.Run("export", "--model", tmp.File("no-model"), "--format", "onnx", "--out", tmp.File("x.onnx"));
        Assert.Equal(1, r.ExitCode);
        Assert.False(File.Exists(tmp.File("x.onnx")));
    }
}
