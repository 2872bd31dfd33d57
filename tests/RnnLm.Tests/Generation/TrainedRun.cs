using RnnLm.Tests.Cli;
using RnnLm.Training;

namespace RnnLm.Tests.Generation;

/// <summary>A small character model of the start of Tiny Shakespeare, trained once (a second or two) for CLI and server tests.</summary>
public sealed class TrainedRun : IDisposable
{
    public CliRunner.TempDir Dir { get; } = new();
    public string Run => Dir.File("run");
    public string Text { get; }

    public TrainedRun()
    {
        Text = RnnLm.Tests.Data.DataPaths.Text("tinyshakespeare", "input.txt")[..60_000];
        var options = new TrainingOptions
        {
            Tokenizer = "char", Mode = DataMode.Stream, Emb = 16, Hidden = 48, Layers = 1, Ctx = 32, Batch = 16, Steps = 40, Threads = 1,
            Lr = 3e-3, Seed = 5,
        };
        using var lm = LanguageModel.Train(Text, null, options, Run);
    }

    public LanguageModel Load() => LanguageModel.Load(Run);

    public void Dispose() => Dir.Dispose();
}
