using System.CommandLine;
using System.Globalization;
using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Cli;

/// <summary>`rnnlm train`: trains a model on a text file (by default, the .NET SDK's own documentation) and samples from it.</summary>
public static class TrainCommand
{
    private static readonly Option<string?> Preset = new("--preset") { Description = "Start from a named recipe: book (the book's chapter 3), ptb (the best Elman recipe for Penn Treebank), char (character models), ptb-lstm and char-lstm (the LSTM recipes)." };
    private static readonly Option<string?> Data = new("--data") { Description = "Training text: a UTF-8 file, or a folder of .txt files. Default: the .NET SDK's reference documentation." };
    private static readonly Option<string?> Valid = new("--valid") { Description = "Validation text file. Default: hold out --valid-fraction of the training text." };
    private static readonly Option<double?> ValidFraction = new("--valid-fraction") { Description = "Fraction held out for validation when there is no --valid (default 0.1)." };
    private static readonly Option<string?> Tokenizer = new("--tokenizer") { Description = "char, word or gpt2 (default word)." };
    private static readonly Option<string?> Mode = new("--mode") { Description = "sentences (one per line, the book's) or stream (carried state, truncated BPTT)." };
    private static readonly Option<int?> VocabSize = new("--vocab-size") { Description = "Word tokenizer: keep at most this many tokens." };
    private static readonly Option<int?> MinCount = new("--min-count") { Description = "Word tokenizer: drop words seen fewer times." };
    private static readonly Option<string?> Cell = new("--cell") { Description = "Recurrent cell: elman (the book's, default), gru or lstm (PyTorch's nn.GRU / nn.LSTM)." };
    private static readonly Option<float?> ForgetBias = new("--forget-bias") { Description = "LSTM only: start the forget gate's bias at this value (default: PyTorch's initialisation)." };
    private static readonly Option<int?> Layers = new("--layers") { Description = "Recurrent layers (default 2)." };
    private static readonly Option<int?> Emb = new("--emb") { Description = "Embedding size (default 128)." };
    private static readonly Option<int?> Hidden = new("--hidden") { Description = "Hidden size (default: as --emb)." };
    private static readonly Option<int?> Ctx = new("--ctx") { Description = "Context length in tokens (default 30)." };
    private static readonly Option<int?> Batch = new("--batch") { Description = "Batch size (default 128)." };
    private static readonly Option<double?> Lr = new("--lr") { Description = "AdamW learning rate (default 1e-3)." };
    private static readonly Option<double?> WeightDecay = new("--weight-decay") { Description = "AdamW weight decay (default 0.01)." };
    private static readonly Option<string?> Schedule = new("--schedule") { Description = "constant, plateau (divide by --lr-decay when validation stalls) or cosine." };
    private static readonly Option<int?> Warmup = new("--warmup") { Description = "Raise the learning rate linearly over this many first steps (default 0: none)." };
    private static readonly Option<double?> LrDecay = new("--lr-decay") { Description = "Plateau schedule divisor (default 4)." };
    private static readonly Option<int?> Epochs = new("--epochs") { Description = "Epochs (default: 1, or no bound when --steps or --minutes is given). Training stops at the first of --epochs, --steps and --minutes reached." };
    private static readonly Option<long?> Steps = new("--steps") { Description = "Stop after this many optimiser steps." };
    private static readonly Option<double?> Minutes = new("--minutes") { Description = "Stop after this many minutes." };
    private static readonly Option<double?> Average = new("--average") { Description = "Average the weights over this last fraction of the run, e.g. 0.2 (default 0: off); best.ckpt takes the average when it validates better." };
    private static readonly Option<double?> Clip = new("--clip") { Description = "Clip gradients to this global norm (0: off)." };
    private static readonly Option<float?> Dropout = new("--dropout") { Description = "Dropout on embeddings, between layers and before the head (default 0)." };
    private static readonly Option<float?> WeightDropout = new("--weight-dropout") { Description = "DropConnect on the recurrent matrices (Uh, weight_hh): one mask per layer and batch (default 0)." };
    private static readonly Option<bool?> Tie = new("--tie") { Description = "Tie the head's weights to the embedding table." };
    private static readonly Option<string?> Init = new("--init") { Description = "book (Xavier, U(0,1) vectors), uniform (U(-r,r), zero biases) or orthogonal." };
    private static readonly Option<float?> InitRange = new("--init-range") { Description = "r of --init uniform (default 0.1)." };
    private static readonly Option<int?> Seed = new("--seed") { Description = "Seed for weights, data order and dropout (default 42)." };
    private static readonly Option<int?> Threads = new("--threads") { Description = "Threads, 1 to 256 (default: the number of cores; every count gives the same bits)." };
    private static readonly Option<int?> ValidEvery = new("--valid-every") { Description = "Validate and checkpoint every N steps; 0 (the default): at the end of each epoch." };
    private static readonly Option<string> Out = new("--out") { Description = "Output folder: checkpoints, metrics.jsonl, loss.png.", DefaultValueFactory = _ => "runs/latest" };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its last checkpoint." };
    private static readonly Option<string?> From = new("--from") { Description = "Fine-tune: start a new run from this trained model's weights and tokenizer (a model folder or checkpoint), with a fresh optimiser, on --data. The architecture is the model's; the recipe is its run's, where not given." };
    private static readonly Option<string> Unknown = UnknownOption.CreateForFineTuning();
    private static readonly Option<bool> Force = new("--force") { Description = "Start a new run even if --out holds one (its checkpoints are replaced)." };
    private static readonly Option<int> Sample = new("--sample") { Description = "Tokens to sample from the model at the end (0: none).", DefaultValueFactory = _ => 200 };

    public static Command Create()
    {
        var cmd = new Command("train", "Train a model; with no --data, on the .NET SDK's reference documentation.")
        {
            Preset, Data, Valid, ValidFraction, Tokenizer, Mode, VocabSize, MinCount, Cell, ForgetBias, Layers, Emb, Hidden, Ctx, Batch, Lr,
            WeightDecay, Schedule, LrDecay, Warmup, Epochs, Steps, Minutes, Average, Clip, Dropout, WeightDropout, Tie, Init, InitRange, Seed, Threads,
            ValidEvery, Out, Resume, From, Unknown, Force, Sample,
        };
        cmd.SetAction(r => Program.Guard(() => Run(r)));
        return cmd;
    }

    /// <summary>The named recipes (<see cref="Presets"/>); options given on the command line override them.</summary>
    public static TrainingOptions PresetOptions(string? name)
    {
        try { return Presets.Get(name); }
        catch (ArgumentException e) { throw new UsageException("--preset " + e.Message.Replace(" (Parameter 'name')", "")); }
    }

    private static T Pick<T>(ParseResult r, Option<T?> option, T current) where T : struct => r.GetValue(option) ?? current;

    /// <summary>The options given, over a preset or, when fine-tuning, over the recipe of the run that trained the model.</summary>
    public static TrainingOptions ReadOptions(ParseResult r, Checkpoint? start = null)
    {
        var o = start?.Header.Training is TrainingOptions saved && r.GetValue(Preset) == null
            ? saved with { Data = null, Valid = null, Epochs = null, Steps = null, Minutes = null, ForgetBias = null }
            : PresetOptions(r.GetValue(Preset));
        int? emb = r.GetValue(Emb);
        o = o with
        {
            Data = r.GetValue(Data) ?? o.Data,
            Valid = r.GetValue(Valid) ?? o.Valid,
            ValidFraction = Pick(r, ValidFraction, o.ValidFraction),
            Tokenizer = r.GetValue(Tokenizer) ?? o.Tokenizer,
            Mode = r.GetValue(Mode) is string m ? ParseMode(m) : o.Mode,
            VocabSize = r.GetValue(VocabSize) ?? o.VocabSize,
            MinCount = Pick(r, MinCount, o.MinCount),
            Cell = r.GetValue(Cell) is string c ? ParseCell(c) : o.Cell,
            ForgetBias = r.GetValue(ForgetBias) ?? o.ForgetBias,
            Layers = Pick(r, Layers, o.Layers),
            Emb = emb ?? o.Emb,
            Hidden = r.GetValue(Hidden) ?? (emb ?? o.Hidden),
            Ctx = Pick(r, Ctx, o.Ctx),
            Batch = Pick(r, Batch, o.Batch),
            Lr = Pick(r, Lr, o.Lr),
            WeightDecay = Pick(r, WeightDecay, o.WeightDecay),
            Schedule = r.GetValue(Schedule) is string s ? ParseSchedule(s) : o.Schedule,
            LrDecay = Pick(r, LrDecay, o.LrDecay),
            Warmup = Pick(r, Warmup, o.Warmup),
            Epochs = r.GetValue(Epochs) ?? o.Epochs,
            Steps = r.GetValue(Steps) ?? o.Steps,
            Minutes = r.GetValue(Minutes) ?? o.Minutes,
            Average = Pick(r, Average, o.Average),
            Clip = Pick(r, Clip, o.Clip),
            Dropout = Pick(r, Dropout, o.Dropout),
            WeightDropout = Pick(r, WeightDropout, o.WeightDropout),
            TieWeights = Pick(r, Tie, o.TieWeights),
            Init = r.GetValue(Init) is string i ? ParseInit(i) : o.Init,
            InitRange = Pick(r, InitRange, o.InitRange),
            Seed = Pick(r, Seed, o.Seed),
            Threads = Pick(r, Threads, o.Threads),
            ValidEvery = Pick(r, ValidEvery, o.ValidEvery),
        };
        o.Validate();
        return o;
    }

    public static CellType ParseCell(string s) => CellTypes.Parse(s, "--cell");

    private static DataMode ParseMode(string s) => s switch
    {
        "sentences" => DataMode.Sentences,
        "stream" => DataMode.Stream,
        _ => throw new UsageException($"--mode must be sentences or stream, got '{s}'."),
    };

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

    /// <summary>The options a fine-tuned model's architecture fixes, which `--from` refuses when given.</summary>
    private static readonly Option[] ArchitectureOptions = [Cell, Layers, Emb, Hidden, Tie, Tokenizer, VocabSize, MinCount, Init, InitRange, ForgetBias];

    /// <summary>The model to fine-tune from, checked against the other options; null without --from.</summary>
    private static Checkpoint? FineTuneStart(ParseResult r)
    {
        if (r.GetValue(From) is not string from) return null;
        if (r.GetValue(Resume))
            throw new UsageException("--from starts a new run from a trained model and --resume continues a run: give one of them.");
        if (r.GetValue(Data) == null)
            throw new UsageException("--from needs --data: the new text to fine-tune the model on.");
        foreach (var option in ArchitectureOptions)
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
        // Before the corpus is read or tokenised: a bad --out, or a run already there, is found at once.
        if (resume) ModelDirectory.EnsureWritable(outDir);
        else
        {
            try { ModelDirectory.PrepareNewRun(outDir, r.GetValue(Force)); }
            catch (IOException e) when (File.Exists(Path.Combine(outDir, ModelDirectory.LastFile)))
            {
                throw new UsageException($"{outDir} already holds a run ({ModelDirectory.LastFile}); use --resume to continue it, or --force to start over.", e);
            }
        }
        if (!resume && start == null && o.Data == null) Console.Error.WriteLine("No --data: training on the .NET SDK's reference documentation.");

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); Console.Error.WriteLine("Stopping after this step; the checkpoint will be saved."); };
        Console.CancelKeyPress += onCancel;
        LanguageModel lm;
        var fineTune = new FineTuning { Unknown = UnknownOption.Parse(r.GetValue(Unknown)!) };
        try
        {
            lm = TrainingProgressView.Run(progress =>
            {
                if (start != null) return LanguageModel.FineTune(start, o.Data!, o, outDir, o.Valid, fineTune, progress, cancel.Token);
                if (!resume) return LanguageModel.Train(o, outDir, progress, cancel.Token);
                // Sizes, data and recipe come from the run itself; only its bounds and threads may change.
                CellType? cell = r.GetValue(Cell) is string c ? ParseCell(c) : null;
                try
                {
                    return LanguageModel.Resume(outDir, r.GetValue(Epochs), r.GetValue(Steps), r.GetValue(Minutes), r.GetValue(Threads), cell,
                        progress, cancel.Token);
                }
                catch (ArgumentException e) when (e.ParamName == "cell")
                {
                    throw new UsageException($"--cell {r.GetValue(Cell)}: {e.Message.Replace(" (Parameter 'cell')", "")}", e);
                }
            });
            if (start != null) UnknownOption.Report(fineTune.Found, fineTune.Unknown);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("Stopped while reading the training data; nothing was saved.");
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        using (lm)
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
            int n = r.GetValue(Sample);
            if (n > 0)
            {
                Console.WriteLine("--- sample ---");
                GenerateCommand.Print(lm, "", n, new SamplingOptions(Temperature: 0.8f), 1);
            }
        }
        return 0;
    }
}
