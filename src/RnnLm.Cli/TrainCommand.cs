using System.CommandLine;
using System.Globalization;
using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Nn;
using RnnLm.Training;
using static RnnLm.Cli.CliOption;
using Train = RnnLm.Cli.OptionTable<RnnLm.Training.TrainingOptions>;

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

    private static readonly Option<string> Out = new("--out") { Description = "Output folder: checkpoints, metrics.jsonl, loss.png.", DefaultValueFactory = _ => "runs/latest" };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its last checkpoint." };
    private static readonly Option<string?> From = new("--from") { Description = "Fine-tune: start a new run from this trained model's weights and tokenizer (a model folder or checkpoint), with a fresh optimiser, on --data. The architecture is the model's; the recipe is its run's, where not given." };
    private static readonly Option<string> Unknown = UnknownOption.CreateForFineTuning();
    private static readonly Option<bool> Force = new("--force") { Description = "Start a new run even if --out holds one (its checkpoints are replaced)." };
    private static readonly Option<int> Sample = new("--sample") { Description = "Tokens to sample from the model at the end (0: none).", DefaultValueFactory = _ => 200 };

    /// <summary>
    /// Every option of train, declared once, in the help's order. Those that set a TrainingOptions property name it
    /// (library errors name it; <see cref="MapErrors"/> turns it back into the flag) and set it only when given, so
    /// an option not given leaves the value of the preset (or of the fine-tuned model's run) as it is.
    /// </summary>
    private static readonly OptionTable<TrainingOptions> Table = new()
    {
        Preset,
        Train.Given(Data, nameof(TrainingOptions.Data), (o, v) => o with { Data = v }),
        Train.Given(Opt<string?>("--valid", "Validation text file. Default: hold out --valid-fraction of the training text."),
            nameof(TrainingOptions.Valid), (o, v) => o with { Valid = v }),
        Train.Given(Opt<double?>("--valid-fraction", $"Fraction held out for validation when there is no --valid (default {Defaults.ValidFraction.Text()})."),
            nameof(TrainingOptions.ValidFraction), (o, v) => o with { ValidFraction = v }),
        Train.Given(Opt<string?>("--tokenizer", $"char, word or gpt2 (default {Defaults.Tokenizer})."),
            nameof(TrainingOptions.Tokenizer), (o, v) => o with { Tokenizer = v }),
        Train.Given(Opt<string?>("--mode", "sentences (one per line, the book's) or stream (carried state, truncated BPTT)."),
            nameof(TrainingOptions.Mode), (o, v) => o with { Mode = ParseMode(v) }),
        Train.Given(Opt<int?>("--vocab-size", "Word tokenizer: keep at most this many tokens."),
            nameof(TrainingOptions.VocabSize), (o, v) => o with { VocabSize = v }),
        Train.Given(Opt<int?>("--min-count", "Word tokenizer: drop words seen fewer times."),
            nameof(TrainingOptions.MinCount), (o, v) => o with { MinCount = v }),
        Train.Given(Cell, nameof(TrainingOptions.Cell), (o, v) => o with { Cell = ParseCell(v) }),
        Train.Given(Opt<float?>("--forget-bias", "LSTM only: start the forget gate's bias at this value (default: PyTorch's initialisation)."),
            nameof(TrainingOptions.ForgetBias), (o, v) => o with { ForgetBias = v }),
        Train.Given(Opt<int?>("--layers", $"Recurrent layers (default {Defaults.Layers})."),
            nameof(TrainingOptions.Layers), (o, v) => o with { Layers = v }),
        // --emb sets the hidden size too; --hidden, after it in this table, overrides that when given.
        Train.Given(Opt<int?>("--emb", $"Embedding size (default {Defaults.Emb})."),
            nameof(TrainingOptions.Emb), (o, v) => o with { Emb = v, Hidden = v }),
        Train.Given(Opt<int?>("--hidden", "Hidden size (default: as --emb)."),
            nameof(TrainingOptions.Hidden), (o, v) => o with { Hidden = v }),
        Train.Given(Opt<int?>("--ctx", $"Context length in tokens (default {Defaults.Ctx})."),
            nameof(TrainingOptions.Ctx), (o, v) => o with { Ctx = v }),
        Train.Given(Opt<int?>("--batch", $"Batch size (default {Defaults.Batch})."),
            nameof(TrainingOptions.Batch), (o, v) => o with { Batch = v }),
        Train.Given(Opt<double?>("--lr", $"AdamW learning rate (default {Defaults.Lr.Text()})."),
            nameof(TrainingOptions.Lr), (o, v) => o with { Lr = v }),
        Train.Given(Opt<double?>("--weight-decay", $"AdamW weight decay (default {Defaults.WeightDecay.Text()})."),
            nameof(TrainingOptions.WeightDecay), (o, v) => o with { WeightDecay = v }),
        Train.Given(Opt<string?>("--schedule", "constant, plateau (divide by --lr-decay when validation stalls) or cosine."),
            nameof(TrainingOptions.Schedule), (o, v) => o with { Schedule = ParseSchedule(v) }),
        Train.Given(Opt<double?>("--lr-decay", $"Plateau schedule divisor (default {Defaults.LrDecay.Text()})."),
            nameof(TrainingOptions.LrDecay), (o, v) => o with { LrDecay = v }),
        Train.Given(Opt<int?>("--warmup", $"Raise the learning rate linearly over this many first steps (default {Defaults.Warmup}: none)."),
            nameof(TrainingOptions.Warmup), (o, v) => o with { Warmup = v }),
        Train.Given(Epochs, nameof(TrainingOptions.Epochs), (o, v) => o with { Epochs = v }),
        Train.Given(Steps, nameof(TrainingOptions.Steps), (o, v) => o with { Steps = v }),
        Train.Given(Minutes, nameof(TrainingOptions.Minutes), (o, v) => o with { Minutes = v }),
        Train.Given(Opt<double?>("--average", $"Average the weights over this last fraction of the run, e.g. 0.2 (default {Defaults.Average.Text()}: off); best.ckpt takes the average when it validates better."),
            nameof(TrainingOptions.Average), (o, v) => o with { Average = v }),
        Train.Given(Opt<double?>("--clip", "Clip gradients to this global norm (0: off)."),
            nameof(TrainingOptions.Clip), (o, v) => o with { Clip = v }),
        Train.Given(Opt<float?>("--dropout", $"Dropout on embeddings, between layers and before the head (default {Defaults.Dropout.Text()})."),
            nameof(TrainingOptions.Dropout), (o, v) => o with { Dropout = v }),
        Train.Given(Opt<float?>("--weight-dropout", $"DropConnect on the recurrent matrices (Uh, weight_hh): one mask per layer and batch (default {Defaults.WeightDropout.Text()})."),
            nameof(TrainingOptions.WeightDropout), (o, v) => o with { WeightDropout = v }),
        Train.Given(Opt<bool?>("--tie", "Tie the head's weights to the embedding table."),
            nameof(TrainingOptions.TieWeights), (o, v) => o with { TieWeights = v }),
        Train.Given(Opt<string?>("--init", "book (Xavier, U(0,1) vectors), uniform (U(-r,r), zero biases) or orthogonal."),
            nameof(TrainingOptions.Init), (o, v) => o with { Init = ParseInit(v) }),
        Train.Given(Opt<float?>("--init-range", $"r of --init uniform (default {Defaults.InitRange.Text()})."),
            nameof(TrainingOptions.InitRange), (o, v) => o with { InitRange = v }),
        Train.Given(Opt<int?>("--seed", $"Seed for weights, data order and dropout (default {Defaults.Seed})."),
            nameof(TrainingOptions.Seed), (o, v) => o with { Seed = v }),
        Train.Given(Threads, nameof(TrainingOptions.Threads), (o, v) => o with { Threads = v }),
        Train.Given(Opt<int?>("--valid-every", $"Validate and checkpoint every N steps; {Defaults.ValidEvery} (the default): at the end of each epoch."),
            nameof(TrainingOptions.ValidEvery), (o, v) => o with { ValidEvery = v }),
        Out, Resume, From, Unknown, Force, Sample,
    };

    /// <summary>The properties that a fine-tuned model's architecture fixes: their options are refused with --from.</summary>
    private static readonly string[] ArchitectureProperties =
    [
        nameof(TrainingOptions.Tokenizer), nameof(TrainingOptions.VocabSize), nameof(TrainingOptions.MinCount),
        nameof(TrainingOptions.Cell), nameof(TrainingOptions.ForgetBias), nameof(TrainingOptions.Layers),
        nameof(TrainingOptions.Emb), nameof(TrainingOptions.Hidden), nameof(TrainingOptions.TieWeights),
        nameof(TrainingOptions.Init), nameof(TrainingOptions.InitRange),
    ];

    public static Command Create()
    {
        var cmd = Table.Command("train", "Train a model; with no --data, on the .NET SDK's reference documentation.");
        cmd.SetAction(r => Program.Guard(() => MapErrors(() => Run(r))));
        return cmd;
    }

    /// <summary>The flag of each TrainingOptions property the table sets.</summary>
    private static readonly Dictionary<string, string> Flags = Table.Flags;

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
        var o = start != null && r.GetValue(Preset) == null && LanguageModel.FineTuneRecipe(start) is TrainingOptions saved
            ? saved
            : PresetOptions(r.GetValue(Preset));
        o = Table.Apply(r, o);
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
        foreach (var option in Table.Bound.Where(s => ArchitectureProperties.Contains(s.Property)).Select(s => s.Option))
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
