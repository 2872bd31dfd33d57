using System.CommandLine;
using RnnLm.Cli;
using RnnLm.Generation;
using RnnLm.Interop;
using RnnLm.Server;
using RnnLm.Training;

namespace RnnLm.Tests.Cli;

/// <summary>
/// Each command given none of its options passes on the library's defaults: every property a command's table sets
/// has, after parsing, the value of a fresh instance of the library's options type. A default written by hand in the
/// CLI that drifts from the library fails here.
/// </summary>
public class LibraryDefaultsTests
{
    private static ParseResult Parse(Command command, params string[] args)
    {
        var r = command.Parse(args);
        Assert.True(r.Errors.Count == 0, string.Join("\n", r.Errors.Select(e => e.Message)));
        return r;
    }

    private static void AssertDefaults<T>(IEnumerable<string> properties, T read, T library)
    {
        var names = properties.ToList();
        Assert.NotEmpty(names);
        foreach (var name in names)
        {
            var property = typeof(T).GetProperty(name);
            Assert.True(property != null, $"{typeof(T).Name} has no property {name}");
            Assert.True(Equals(property!.GetValue(library), property.GetValue(read)) ||
                        property.GetValue(library) is IEnumerable<string> a && property.GetValue(read) is IEnumerable<string> b && a.SequenceEqual(b),
                $"{typeof(T).Name}.{name}: the library's default is {property.GetValue(library)}, the command passes on {property.GetValue(read)}");
        }
    }

    [Fact]
    public void GeneratePassesOnTheGenerationOptionsDefaults()
    {
        var (options, temperatures, samples) = GenerateCommand.ReadOptions(Parse(GenerateCommand.Create(), "--model", "m"));
        var library = new GenerationOptions();
        AssertDefaults(GenerateCommand.BoundProperties, options, library);
        Assert.Contains(nameof(GenerationOptions.MaxTokens), GenerateCommand.BoundProperties);
        Assert.Contains(nameof(GenerationOptions.RepetitionPenalty), GenerateCommand.BoundProperties);
        Assert.Equal([library.Temperature], temperatures);
        Assert.Equal(1, samples);
        // The sampling defaults of the library's other entry point agree with the ones generate passes on.
        Assert.Equal(new SamplingOptions(), options.Sampling);
    }

    [Fact]
    public void ServePassesOnTheServerOptionsDefaults()
    {
        var limits = ServeCommand.ReadLimits(Parse(ServeCommand.Create(), "--model", "m"));
        AssertDefaults(ServeCommand.BoundProperties, limits, new RnnLmServerOptions());
        Assert.Equal(new RnnLmServerOptions(), limits);
    }

    [Fact]
    public void ImportPassesOnTheImportOptionsDefaults()
    {
        var options = ImportCommand.ReadOptions(Parse(ImportCommand.Create(), "--safetensors", "w.safetensors", "--out", "o"));
        AssertDefaults(ImportCommand.BoundProperties, options, new ImportOptions());
        Assert.Equal(new ImportOptions(), options);
    }

    [Fact]
    public void BenchsCustomSizesAreTheTrainingOptionsDefaultsAndTheBookConfiguration()
    {
        var r = Parse(BenchCommand.Create());
        var custom = BenchCommand.ReadCustom(r);
        var library = new TrainingOptions();
        AssertDefaults(BenchCommand.BoundProperties, custom, library);
        Assert.Equal(library.Hidden, custom.Hidden);
        Assert.Equal(TrainingBenchmark.Configs["book"].Vocab, BenchCommand.ReadVocab(r));
    }

    public static TheoryData<string, string, string> HelpDefaults()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var generation = new GenerationOptions();
        var server = new RnnLmServerOptions();
        return new()
        {
            { "generate", "--max-tokens", generation.MaxTokens.ToString(inv) },
            { "generate", "--temperature", generation.Temperature.ToString(inv) },
            { "generate", "--top-p", generation.TopP.ToString(inv) },
            { "generate", "--seed", generation.Seed.ToString(inv) },
            { "generate", "--length-penalty", generation.LengthPenalty.ToString(inv) },
            { "serve", "--max-tokens", server.MaxTokens.ToString(inv) },
            { "serve", "--max-body", server.MaxBodyBytes.ToString(inv) },
            { "import", "--tokenizer", new ImportOptions().Tokenizer },
            { "bench", "--emb", new TrainingOptions().Emb.ToString(inv) },
            { "bench", "--cell", RnnLm.Nn.CellTypes.Name(new TrainingOptions().Cell) },
        };
    }

    [Theory]
    [MemberData(nameof(HelpDefaults))]
    public void TheHelpQuotesTheLibrarysDefault(string command, string flag, string value)
    {
        var help = CliRunner.Run(command, "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        var line = help.Out.Split('\n').Single(l => l.TrimStart().StartsWith(flag + " ", StringComparison.Ordinal));
        Assert.EndsWith($"[default: {value}]", line.TrimEnd());
    }
}
