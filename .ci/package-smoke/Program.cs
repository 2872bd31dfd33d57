// Trains a tiny character model through the package's public API, then scores and samples it; exits 1 if the
// validation loss did not fall or the model does not round-trip through its folder.
using RnnLm;
using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Training;

if (args.Length != 2) { Console.Error.WriteLine("usage: PackageSmoke CORPUS.txt OUT_DIR"); return 2; }
string text = string.Join('\n', File.ReadLines(args[0]).Take(2000)) + "\n";
var options = new TrainingOptions
{
    Tokenizer = "char", Mode = DataMode.Stream, Cell = RnnLm.Nn.CellType.Lstm, Layers = 1, Emb = 32, Hidden = 64,
    Ctx = 32, Batch = 16, Lr = 3e-3, Steps = 120, ValidEvery = 40,
};
var losses = new List<double>();
using (var lm = LanguageModel.Train(text, null, options, args[1], progress: p => { if (p.ValidLoss is double v) losses.Add(v); }))
    Console.WriteLine($"trained: validation loss {string.Join(" -> ", losses.Select(l => l.ToString("F3")))}");
using var loaded = LanguageModel.Load(args[1]);
var score = loaded.Evaluate(text[^2000..]);
string sample = string.Concat(loaded.Generate("ROMEO:", 80, new SamplingOptions(Temperature: 0.8f), seed: 3));
Console.WriteLine($"loss {score.Loss:F3} over {score.Tokens} tokens; sample: {sample.ReplaceLineEndings(" ")}");
bool ok = losses.Count >= 2 && losses[^1] < losses[0] - 0.2 && double.IsFinite(score.Loss) && sample.Length > 0;
Console.WriteLine(ok ? "package smoke test passed" : "package smoke test FAILED");
return ok ? 0 : 1;
