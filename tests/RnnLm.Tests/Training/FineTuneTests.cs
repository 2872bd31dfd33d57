using System.Security.Cryptography;
using RnnLm.Data;
using RnnLm.Nn;
using RnnLm.Tests.Cli;
using RnnLm.Training;

namespace RnnLm.Tests.Training;

/// <summary>Fine-tuning (`train --from`): a new run that starts from a trained model's weights and tokenizer.</summary>
public class FineTuneTests
{
    private static readonly string[] Shakespeare = File.ReadAllLines(SharedFolder.Combine("data", "tinyshakespeare", "input.txt"));

    private static string Lines(int skip, int take) => string.Join('\n', Shakespeare.Skip(skip).Take(take)) + "\n";

    private static TrainingOptions Small => new()
    {
        Tokenizer = "char", Mode = DataMode.Stream, Cell = CellType.Lstm, Layers = 1, Emb = 16, Hidden = 24, Ctx = 16, Batch = 8,
        Lr = 3e-3, Seed = 5, Threads = 1,
    };

    /// <summary>A char LSTM trained for a few steps on the start of Tiny Shakespeare, in its own folder.</summary>
    private static string TrainSource(CliRunner.TempDir tmp)
    {
        string dir = tmp.File("source");
        LanguageModel.Train(Lines(0, 600), null, Small with { Steps = 20 }, dir).Dispose();
        return dir;
    }

    private static string Hashes(string dir) => string.Join('\n', Directory.GetFiles(dir).Order(StringComparer.Ordinal)
        .Select(f => Path.GetFileName(f) + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))));

    [Fact]
    public void StartsFromTheModelsWeightsAndTokenizerWithAFreshOptimiserAndLeavesTheModelAlone()
    {
        using var tmp = new CliRunner.TempDir();
        string source = TrainSource(tmp);
        var before = Hashes(source);
        var start = Checkpoint.Load(source);
        string data = tmp.File("new.txt");
        File.WriteAllText(data, Lines(5000, 300));

        // The sizes asked for are not the model's: the model's win. A tiny learning rate keeps one step close to the start.
        using var tuned = LanguageModel.FineTune(source, data, Small with { Emb = 99, Hidden = 7, Cell = CellType.Gru, Lr = 1e-7, Steps = 1 }, tmp.File("tuned"));
        Assert.Equal(start.Header.Model with { Dropout = 0, WeightDropout = 0 }, tuned.Model.Config with { Dropout = 0, WeightDropout = 0 });
        Assert.Equal(start.Tokenizer.VocabSize, tuned.Tokenizer.VocabSize);
        for (int id = 0; id < start.Tokenizer.VocabSize; id++) Assert.Equal(start.Tokenizer.TokenText(id), tuned.Tokenizer.TokenText(id));
        foreach (var (name, p) in tuned.Model.NamedParameters())
        {
            float maxDiff = 0;
            for (int i = 0; i < p.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(p.Value.Data[i] - start.Parameters[name][i]));
            Assert.True(maxDiff < 1e-5f, $"{name} moved {maxDiff} in one step at lr 1e-7: the run did not start from the model");
        }
        var header = Checkpoint.Load(Path.Combine(tmp.File("tuned"), ModelDirectory.LastFile)).Header;
        Assert.Equal(1, header.OptimizerSteps);
        Assert.Equal(CellType.Lstm, header.Training!.Cell);
        Assert.Equal(before, Hashes(source));
    }

    [Fact]
    public void TheRecipeOfTheSourceRunIsTheBaseWithoutItsDataAndBounds()
    {
        using var tmp = new CliRunner.TempDir();
        var start = Checkpoint.Load(TrainSource(tmp));
        var recipe = LanguageModel.FineTuneRecipe(start);
        Assert.NotNull(recipe);
        Assert.Equal(Small.Lr, recipe.Lr);
        Assert.Equal(Small.Ctx, recipe.Ctx);
        Assert.Equal(DataMode.Stream, recipe.Mode);
        Assert.Null(recipe.Steps);
        Assert.Null(recipe.Data);
        Assert.Null(recipe.Valid);
        var imported = new Checkpoint
        {
            Header = start.Header with { Training = null }, Tokenizer = start.Tokenizer, Parameters = start.Parameters,
            OptimizerState = start.OptimizerState, CarriedState = start.CarriedState,
        };
        Assert.Null(LanguageModel.FineTuneRecipe(imported));
    }

    [Fact]
    public void FineTuningLowersTheLossOnTheNewText()
    {
        using var tmp = new CliRunner.TempDir();
        string source = TrainSource(tmp);
        // New text the model has not seen: lines in capitals, which the source's few steps did not learn.
        string text = Lines(10000, 400).ToUpperInvariant(), held = Lines(11000, 100).ToUpperInvariant();
        string data = tmp.File("new.txt");
        File.WriteAllText(data, text);
        double lossBefore;
        using (var original = LanguageModel.Load(source)) lossBefore = original.Evaluate(held).Loss;
        using var tuned = LanguageModel.FineTune(source, data, Small with { Steps = 60 }, tmp.File("tuned"),
            fineTune: new FineTuning { Unknown = UnknownHandling.Skip });
        double lossAfter = tuned.Evaluate(held).Loss;
        Assert.True(lossAfter < lossBefore - 0.1, $"held-out loss {lossBefore:F4} before, {lossAfter:F4} after fine-tuning");
    }

    [Fact]
    public void CharactersTheVocabularyLacksAreRefusedByDefaultOrSkippedWhenAsked()
    {
        using var tmp = new CliRunner.TempDir();
        string source = TrainSource(tmp);
        string data = tmp.File("new.txt");
        string text = Lines(100, 200) + "Caf\u00e9 au lait, caf\u00e9 cr\u00e8me.\n";
        File.WriteAllText(data, text);

        string refused = tmp.File("refused");
        var e = Assert.Throws<ArgumentException>(() => LanguageModel.FineTune(source, data, Small with { Steps = 2 }, refused));
        Assert.Contains("U+00E9", e.Message);
        Assert.False(File.Exists(Path.Combine(refused, ModelDirectory.LastFile)));

        var fineTune = new FineTuning { Unknown = UnknownHandling.Skip };
        LanguageModel.FineTune(source, data, Small with { Steps = 2 }, tmp.File("skipped"), fineTune: fineTune).Dispose();
        Assert.DoesNotContain(Lines(0, 600), c => c is '\u00e9' or '\u00e8');
        Assert.Equal(3, fineTune.Found.Count);   // é twice, è once
        Assert.Contains("U+00E8", fineTune.Found.Describe());
    }

    [Fact]
    public void TheCommandLineFineTunesAndRefusesWhatMakesNoSense()
    {
        using var tmp = new CliRunner.TempDir();
        string source = TrainSource(tmp);
        string data = tmp.File("new.txt");
        File.WriteAllText(data, Lines(7000, 200));
        string[] Tune(string outDir, params string[] extra) => ["train", "--from", source, "--data", data, "--unknown", "skip", "--steps", "3", "--sample", "0", "--out", outDir, .. extra];

        var ok = CliRunner.Run(Tune(tmp.File("ok"), "--lr", "0.001"));
        Assert.True(ok.ExitCode == 0, ok.ToString());
        var header = Checkpoint.Load(Path.Combine(tmp.File("ok"), ModelDirectory.BestFile)).Header;
        Assert.Equal(3, header.OptimizerSteps);
        Assert.Equal(1e-3, header.Training!.Lr);
        Assert.Equal(16, header.Training.Ctx);   // the source run's recipe where not given

        foreach (var (args, part) in new (string[], string)[]
        {
            (Tune(tmp.File("a"), "--cell", "gru"), "--cell"),
            (Tune(tmp.File("b"), "--hidden", "64"), "--hidden"),
            (Tune(tmp.File("c"), "--resume"), "--resume"),
            (["train", "--from", source, "--steps", "3", "--out", tmp.File("d")], "--data"),
            (["train", "--from", tmp.File("no-such-model"), "--data", data, "--out", tmp.File("e")], "no-such-model"),
            (Tune(source), "another folder"),
            (Tune(source, "--force"), "another folder"),
        })
        {
            var r = CliRunner.Run(args);
            Assert.True(r.ExitCode != 0, r.ToString());
            Assert.Contains(part, r.Err);
            Assert.DoesNotContain("   at ", r.Err);
        }
        Assert.Equal(20, Checkpoint.Load(Path.Combine(source, ModelDirectory.LastFile)).Header.OptimizerSteps);
    }
}
