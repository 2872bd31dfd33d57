using System.CommandLine;
using System.Globalization;
using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Nn;
using RnnLm.Training;
using static RnnLm.Cli.CliOption;

namespace RnnLm.Cli;

/// <summary>`rnnlm train`: trains a model on a text file (by default, the .NET SDK's own documentation) and samples from it.</summary>
public static class TrainCommand
{
    /// <summary>The library's defaults (the book's recipe), which the help quotes.</summary>
    private static readonly TrainingOptions Defaults = new();

    private static readonly Option<string?> Preset = new("--preset") { Description = "Start from a named recipe: book (the book's chapter 3), ptb (the best Elman recipe for Penn Treebank), char (character models), ptb-lstm and char-lstm (the LSTM recipes)." };
    // The options read apart from the table as well: --from checks --data, and --resume passes on only these.
    private static readonly Option<string?> Data = new("--data") { Description = "Training text: a UTF-8 file, or a folder of .txt files. Default: the .NET SDK's reference documentation." };
    private static readonly Option<string?> Cell = new("--cell") { Description = $"Recurrent cell: elman (the book's), gru or lstm (PyTorch's nn.GRU / nn.LSTM); default {Defaults.Cell.Name()}." };
    private static readonly Option<int?> Epochs = new("--epochs") { Description = $"Epochs (default: {Defaults.EpochLimit()}, or no bound when --steps or --minutes is given). Training stops at the first of --epochs, --steps and --minutes reached." };
    private static readonly Option<long?> Steps = new("--steps") { Description = "Stop after this many optimiser steps." };
    private static readonly Option<double?> Minutes = new("--minutes") { Description = "Stop after this many minutes." };
    private static readonly Option<int?> Threads = new("--threads") { Description = $"Threads, 1 to {RnnLm.Tensors.WorkerTeam.MaxThreads} (default: the number of cores; every count gives the same bits)." };

    /// <summary>
    /// Every option that sets a TrainingOptions property, declared once, in the help's order: its flag and help, the
    /// property (library errors name it; <see cref="MapErrors"/> turns it back into the flag), and how a given value
    /// sets it. An option not given leaves the value of the preset (or of the fine-tuned model's run) as it is.
    /// </summary>
    private static readonly Setting[] Settings =
    [
        Set(Data, nameof(TrainingOptions.Data), (o, v) => o with { Data = v }),
        Set(Opt<string?>("--valid", "Validation text file. Default: hold out --valid-fraction of the training text."),
            nameof(TrainingOptions.Valid), (o, v) => o with { Valid = v }),
        Set(Opt<double?>("--valid-fraction", $"Fraction held out for validation when there is no --valid (default {Defaults.ValidFraction.Text()})."),
            nameof(TrainingOptions.ValidFraction), (o, v) => o with { ValidFraction = v }),
        Set(Opt<string?>("--tokenizer", $"char, word or gpt2 (default {Defaults.Tokenizer})."),
            nameof(TrainingOptions.Tokenizer), (o, v) => o with { Tokenizer = v }, architecture: true),
        Set(Opt<string?>("--mode", "sentences (one per line, the book's) or stream (carried state, truncated BPTT)."),
            nameof(TrainingOptions.Mode), (o, v) => o with { Mode = ParseMode(v) }),
        Set(Opt<int?>("--vocab-size", "Word tokenizer: keep at most this many tokens."),
            nameof(TrainingOptions.VocabSize), (o, v) => o with { VocabSize = v }, architecture: true),
        Set(Opt<int?>("--min-count", "Word tokenizer: drop words seen fewer times."),
            nameof(TrainingOptions.MinCount), (o, v) => o with { MinCount = v }, architecture: true),
        Set(Cell, nameof(TrainingOptions.Cell), (o, v) => o with { Cell = ParseCell(v) }, architecture: true),
        Set(Opt<float?>("--forget-bias", "LSTM only: start the forget gate's bias at this value (default: PyTorch's initialisation)."),
            nameof(TrainingOptions.ForgetBias), (o, v) => o with { ForgetBias = v }, architecture: true),
        Set(Opt<int?>("--layers", $"Recurrent layers (default {Defaults.Layers})."),
            nameof(TrainingOptions.Layers), (o, v) => o with { Layers = v }, architecture: true),
        // --emb sets the hidden size too; --hidden, after it in this table, overrides that when given.
        Set(Opt<int?>("--emb", $"Embedding size (default {Defaults.Emb})."),
            nameof(TrainingOptions.Emb), (o, v) => o with { Emb = v, Hidden = v }, architecture: true),
        Set(Opt<int?>("--hidden", "Hidden size (default: as --emb)."),
            nameof(TrainingOptions.Hidden), (o, v) => o with { Hidden = v }, architecture: true),
        Set(Opt<int?>("--ctx", $"Context length in tokens (default {Defaults.Ctx})."),
            nameof(TrainingOptions.Ctx), (o, v) => o with { Ctx = v }),
        Set(Opt<int?>("--batch", $"Batch size (default {Defaults.Batch})."),
            nameof(TrainingOptions.Batch), (o, v) => o with { Batch = v }),
        Set(Opt<double?>("--lr", $"AdamW learning rate (default {Defaults.Lr.Text()})."),
            nameof(TrainingOptions.Lr), (o, v) => o with { Lr = v }),
        Set(Opt<double?>("--weight-decay", $"AdamW weight decay (default {Defaults.WeightDecay.Text()})."),
            nameof(TrainingOptions.WeightDecay), (o, v) => o with { WeightDecay = v }),
        Set(Opt<string?>("--schedule", "constant, plateau (divide by --lr-decay when validation stalls) or cosine."),
            nameof(TrainingOptions.Schedule), (o, v) => o with { Schedule = ParseSchedule(v) }),
        Set(Opt<double?>("--lr-decay", $"Plateau schedule divisor (default {Defaults.LrDecay.Text()})."),
            nameof(TrainingOptions.LrDecay), (o, v) => o with { LrDecay = v }),
        Set(Opt<int?>("--warmup", $"Raise the learning rate linearly over this many first steps (default {Defaults.Warmup}: none)."),
            nameof(TrainingOptions.Warmup), (o, v) => o with { Warmup = v }),
        Set(Epochs, nameof(TrainingOptions.Epochs), (o, v) => o with { Epochs = v }),
        Set(Steps, nameof(TrainingOptions.Steps), (o, v) => o with { Steps = v }),
        Set(Minutes, nameof(TrainingOptions.Minutes), (o, v) => o with { Minutes = v }),
        Set(Opt<double?>("--average", $"Average the weights over this last fraction of the run, e.g. 0.2 (default {Defaults.Average.Text()}: off); best.ckpt takes the average when it validates better."),
            nameof(TrainingOptions.Average), (o, v) => o with { Average = v }),
        Set(Opt<double?>("--clip", "Clip gradients to this global norm (0: off)."),
            nameof(TrainingOptions.Clip), (o, v) => o with { Clip = v }),
        Set(Opt<float?>("--dropout", $"Dropout on embeddings, between layers and before the head (default {Defaults.Dropout.Text()})."),
            nameof(TrainingOptions.Dropout), (o, v) => o with { Dropout = v }),
        Set(Opt<float?>("--weight-dropout", $"DropConnect on the recurrent matrices (Uh, weight_hh): one mask per layer and batch (default {Defaults.WeightDropout.Text()})."),
            nameof(TrainingOptions.WeightDropout), (o, v) => o with { WeightDropout = v }),
        Set(Opt<bool?>("--tie", "Tie the head's weights to the embedding table."),
            nameof(TrainingOptions.TieWeights), (o, v) => o with { TieWeights = v }, architecture: true),
        Set(Opt<string?>("--init", "book (Xavier, U(0,1) vectors), uniform (U(-r,r), zero biases) or orthogonal."),
            nameof(TrainingOptions.Init), (o, v) => o with { Init = ParseInit(v) }, architecture: true),
        Set(Opt<float?>("--init-range", $"r of --init uniform (default {Defaults.InitRange.Text()})."),
            nameof(TrainingOptions.InitRange), (o, v) => o with { InitRange = v }, architecture: true),
        Set(Opt<int?>("--seed", $"Seed for weights, data order and dropout (default {Defaults.Seed})."),
            nameof(TrainingOptions.Seed), (o, v) => o with { Seed = v }),
        Set(Threads, nameof(TrainingOptions.Threads), (o, v) => o with { Threads = v }),
        Set(Opt<int?>("--valid-every", $"Validate and checkpoint every N steps; {Defaults.ValidEvery} (the default): at the end of each epoch."),
            nameof(TrainingOptions.ValidEvery), (o, v) => o with { ValidEvery = v }),
    ];

    private static readonly Option<string> Out = new("--out") { Description = "Output folder: checkpoints, metrics.jsonl, loss.png.", DefaultValueFactory = _ => "runs/latest" };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its last checkpoint." };
    private static readonly Option<string?> From = new("--from") { Description = "Fine-tune: start a new run from this trained model's weights and tokenizer (a model folder or checkpoint), with a fresh optimiser, on --data. The architecture is the model's; the recipe is its run's, where not given." };
    private static readonly Option<string> Unknown = UnknownOption.CreateForFineTuning();
    private static readonly Option<bool> Force = new("--force") { Description = "Start a new run even if --out holds one (its checkpoints are replaced)." };
    private static readonly Option<int> Sample = new("--sample") { Description = "Tokens to sample from the model at the end (0: none).", DefaultValueFactory = _ => 200 };

    /// <summary>One option of the table: the option, the TrainingOptions property it sets, and how its value, when given, sets it.</summary>
    private sealed record Setting(Option Option, string Property, Func<ParseResult, TrainingOptions, TrainingOptions> Apply, bool Architecture);

    // Given means a value on the command line: these options have no default of their own, so null is "not given".
    private static Setting Set<T>(Option<T?> option, string property, Func<TrainingOptions, T, TrainingOptions> set, bool architecture = false)
        where T : struct => new(option, property, (r, o) => r.GetValue(option) is T v ? set(o, v) : o, architecture);

    private static Setting Set(Option<string?> option, string property, Func<TrainingOptions, string, TrainingOptions> set, bool architecture = false)
        => new(option, property, (r, o) => r.GetValue(option) is string v ? set(o, v) : o, architecture);

    public static Command Create()
    {
        var cmd = new Command("train", "Train a model; with no --data, on the .NET SDK's reference documentation.") { Preset };
        foreach (var setting in Settings) cmd.Options.Add(setting.Option);
        foreach (var option in new Option[] { Out, Resume, From, Unknown, Force, Sample }) cmd.Options.Add(option);
        cmd.SetAction(r => Program.Guard(() => MapErrors(() => Run(r))));
        return cmd;
    }

    /// <summary>The flag of each TrainingOptions property the table sets.</summary>
    private static readonly Dictionary<string, string> Flags = Settings.ToDictionary(s => s.Property, s => s.Option.Name);

    /// <summary>Runs body with library errors about a TrainingOptions property reworded to name its flag (see GenerationFlags.Map).</summary>
    public static T MapErrors<T>(Func<T> body) => GenerationFlags.Map(Flags, body);

    /// <summary>The named recipes (<see cref="Presets"/>); options given on the command line override them.</summary>
    public static TrainingOptions PresetOptions(string? name)
    {
        try { return Presets.Get(name); }
        catch (ArgumentException e) { throw new UsageException("--preset " + e.Message.Replace(" (Parameter 'name')", "")); }
    }

    /// <summary>The options given, over a preset or, when fine-tuning, over the recipe of the run that trained the model.</summary>
    public static TrainingOptions ReadOptions(ParseResult r, Checkpoint? start = null)
    {
        var o = start?.Header.Training is TrainingOptions saved && r.GetValue(Preset) == null
            ? saved with { Data = null, Valid = null, Epochs = null, Steps = null, Minutes = null, ForgetBias = null }
            : PresetOptions(r.GetValue(Preset));
        foreach (var setting in Settings) o = setting.Apply(r, o);
        o.Validate(); // Its errors name properties; Create maps them to flags around the whole command.
        return o;
    }

    public static CellType ParseCell(string s) => CellTypes.Parse(s, "--cell");

    public static DataMode ParseMode(string s) => s switch
    {
        "sentences" => DataMode.Sentences,
        "stream" => DataMode.Stream,
        _ => throw new UsageException($"--mode must be sentences or stream, got '{s}'."),
    };

    /// <summary>A data mode as --mode names it.</summary>
    public static string ModeName(DataMode mode) => mode == DataMode.Stream ? "stream" : "sentences";

    private static LrSchedule ParseSchedule(string s) => s switch
    {
        "constant" => LrSchedule.Constant,
        "plateau" => LrSchedule.Plateau,
        "cosine" => LrSchedule.Cosine,
        _ => throw new UsageException($"--schedule must be constant, plateau or cosine, got '{s}'."),
    };

    private static InitScheme ParseInit(string s) => s switch
    {
        "book" => InitScheme.Book,
        "uniform" => InitScheme.SmallUniform,
        "orthogonal" => InitScheme.Orthogonal,
        _ => throw new UsageException($"--init must be book, uniform or orthogonal, got '{s}'."),
    };

    /// <summary>The model to fine-tune from, checked against the other options; null without --from.</summary>
    private static Checkpoint? FineTuneStart(ParseResult r)
    {
        if (r.GetValue(From) is not string from) return null;
        if (r.GetValue(Resume))
            throw new UsageException("--from starts a new run from a trained model and --resume continues a run: give one of them.");
        if (r.GetValue(Data) == null)
            throw new UsageException("--from needs --data: the new text to fine-tune the model on.");
        // The options a fine-tuned model's architecture fixes are refused when given.
        foreach (var option in Settings.Where(s => s.Architecture).Select(s => s.Option))
            if (r.GetResult(option) is { Implicit: false })
                throw new UsageException($"{option.Name} cannot be given with --from: a fine-tuned model keeps the architecture, tokenizer and weights of the model it starts from.");
        LanguageModel.CheckFineTuneFolder(from, r.GetValue(Out)!);
        return Checkpoint.Load(from);
    }

    private static int Run(ParseResult r)
    {
        var start = FineTuneStart(r);
        var o = ReadOptions(r, start);
        if (r.GetValue(Sample) is int sample and < 0)
            throw new UsageException($"--sample must be 0 (no sample) or a number of tokens, got {sample}.");
        string outDir = r.GetValue(Out)!;
        bool resume = r.GetValue(Resume);
        PrepareOutput(outDir, resume, r.GetValue(Force));
        if (!resume && start == null && o.Data == null) Console.Error.WriteLine("No --data: training on the .NET SDK's reference documentation.");
        if (TrainWithCancel(r, start, o, outDir, resume) is not LanguageModel lm) return 130;
        using (lm) PrintResult(lm, outDir, r.GetValue(Sample));
        return 0;
    }

    /// <summary>Before the corpus is read or tokenised: a bad --out, or a run already there, is found at once.</summary>
    private static void PrepareOutput(string outDir, bool resume, bool force)
    {
        if (resume) { ModelDirectory.EnsureWritable(outDir); return; }
        try { ModelDirectory.PrepareNewRun(outDir, force); }
        catch (IOException e) when (File.Exists(Path.Combine(outDir, ModelDirectory.LastFile)))
        {
            throw new UsageException($"{outDir} already holds a run ({ModelDirectory.LastFile}); use --resume to continue it, or --force to start over.", e);
        }
    }

    /// <summary>Trains, fine-tunes or resumes, Ctrl+C stopping after the current step; null when stopped before training began.</summary>
    private static LanguageModel? TrainWithCancel(ParseResult r, Checkpoint? start, TrainingOptions o, string outDir, bool resume)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); Console.Error.WriteLine("Stopping after this step; the checkpoint will be saved."); };
        Console.CancelKeyPress += onCancel;
        var fineTune = new FineTuning { Unknown = UnknownOption.Parse(r.GetValue(Unknown)!) };
        try
        {
            var lm = TrainingProgressView.Run(progress =>
            {
                if (start != null) return LanguageModel.FineTune(start, o.Data!, o, outDir, o.Valid, fineTune, progress, cancel.Token);
                if (!resume) return LanguageModel.Train(o, outDir, progress, cancel.Token);
                return ResumeRun(r, outDir, progress, cancel.Token);
            });
            if (start != null) UnknownOption.Report(fineTune.Found, fineTune.Unknown);
            return lm;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("Stopped while reading the training data; nothing was saved.");
            return null;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>--resume: sizes, data and recipe come from the run itself; only its bounds, threads and cell may be given.</summary>
    private static LanguageModel ResumeRun(ParseResult r, string outDir, Action<TrainingProgress> progress, CancellationToken cancel)
    {
        CellType? cell = r.GetValue(Cell) is string c ? ParseCell(c) : null;
        try
        {
            return LanguageModel.Resume(outDir, r.GetValue(Epochs), r.GetValue(Steps), r.GetValue(Minutes), r.GetValue(Threads), cell, progress, cancel);
        }
        catch (ArgumentException e) when (e.ParamName == "cell")
        {
            throw new UsageException($"--cell {r.GetValue(Cell)}: {e.Message.Replace(" (Parameter 'cell')", "")}", e);
        }
    }

    /// <summary>The best validation loss, where the model and plot are, and a sample of sampleTokens tokens.</summary>
    private static void PrintResult(LanguageModel lm, string outDir, int sampleTokens)
    {
        string plot = Path.Combine(outDir, ModelDirectory.PlotFile);
        LossPlot.Write(Path.Combine(outDir, ModelDirectory.MetricsFile), plot);
        var best = Checkpoint.Load(ModelDirectory.CheckpointIn(outDir)).Header;
        var inv = CultureInfo.InvariantCulture;
        if (double.IsFinite(best.BestValidLoss))
            Console.WriteLine(string.Format(inv, "best valid_loss={0:F4} valid_ppl={1:F2} (step {2}); model: {3}; plot: {4}",
                best.BestValidLoss, Math.Exp(best.BestValidLoss), best.OptimizerSteps, outDir, plot));
        else
            Console.WriteLine(string.Format(inv, "stopped before a validation finished, at step {0}; model: {1} ({2})",
                best.OptimizerSteps, outDir, ModelDirectory.LastFile));
        if (sampleTokens > 0)
        {
            Console.WriteLine("--- sample ---");
            GenerateCommand.Print(lm, "", sampleTokens, new SamplingOptions(Temperature: 0.8f), 1);
        }
    }
}
