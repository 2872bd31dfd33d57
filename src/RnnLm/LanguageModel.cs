using RnnLm.Data;
using RnnLm.Generation;
using RnnLm.Nn;
using RnnLm.Tensors;
using RnnLm.Training;

namespace RnnLm;

/// <summary>
/// The library's front door: train a model on a text file, load one, score a text, generate.
/// <code>
/// var lm = LanguageModel.Train("corpus.txt", new TrainingOptions { Tokenizer = "char", Epochs = 2 }, "runs/demo");
/// Console.WriteLine(lm.Evaluate("Some held-out text.").Perplexity);
/// foreach (var piece in lm.Generate("Once upon", maxTokens: 100)) Console.Write(piece);
/// </code>
/// Thread safety: once loaded, a model may be shared by any number of threads that generate, score or ask for
/// candidates at once (<see cref="GenerateAsync"/>, <see cref="Complete"/>, <see cref="Samples"/>,
/// <see cref="ScoreLines"/>, <see cref="Candidates"/>, <see cref="Generate"/>): each call runs in a session with its
/// own state and buffers and only reads the parameters. <see cref="Evaluate"/>, <see cref="EvaluateFile"/> and training
/// use the model's own buffers: run them alone.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    public RecurrentLanguageModel Model { get; }
    public Tokenizer Tokenizer { get; }
    /// <summary>How the model was trained (null for a model built in code).</summary>
    public TrainingOptions? Options { get; }

    public LanguageModel(RecurrentLanguageModel model, Tokenizer tokenizer, TrainingOptions? options = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Options = options;
        Generator = new TextGenerator(model, tokenizer);
        Scorer = new TextScorer(Generator);
    }

    /// <summary>Generation on this model (thread-safe; see the class remarks).</summary>
    public TextGenerator Generator { get; }
    /// <summary>Per-token and per-line scoring on this model (thread-safe).</summary>
    public TextScorer Scorer { get; }
    /// <summary>Generation and scoring sessions open now, each holding its own buffers.</summary>
    public int ActiveSessions => Generator.ActiveSessions;

    /// <summary>
    /// Trains a model on a text file (or folder of .txt files) and returns the best one found. Checkpoints,
    /// metrics and the best weights go to outDir. With resume, continues from outDir's last.ckpt.
    /// In stream mode the training text is never held whole: it is tokenised piece by piece into outDir's
    /// train.ids, which is memory-mapped (see <see cref="TrainingData.FromFiles"/>); a cancellation while the files
    /// are read throws <see cref="OperationCanceledException"/> (nothing has been saved yet).
    /// </summary>
    public static LanguageModel Train(string trainPath, TrainingOptions options, string outDir, string? validPath = null,
        bool resume = false, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(trainPath);
        return Train(options, outDir, resume, progress, cancel,
            (o, tokenizer, idsPath) => TrainingData.FromFiles(o, trainPath, validPath, tokenizer, idsPath, cancel: cancel));
    }

    /// <summary>Trains on text already in memory (see the file overload).</summary>
    public static LanguageModel Train(string trainText, string? validText, TrainingOptions options, string outDir,
        bool resume = false, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(trainText);
        return Train(options, outDir, resume, progress, cancel,
            (o, tokenizer, idsPath) => TrainingData.Build(o, trainText, validText, tokenizer, idsPath));
    }

    /// <summary>The vocabulary of a word model trained on the default corpus when no VocabSize is given.</summary>
    public const int DefaultCorpusVocabSize = 10000;

    /// <summary>
    /// Trains a new model as the options say, in outDir: on options.Data (a file or folder of .txt files), validated on
    /// options.Valid or a held-out fraction; with no Data, on the .NET SDK's reference documentation
    /// (<see cref="DotnetDocsCorpus"/>), a word model of it keeping <see cref="DefaultCorpusVocabSize"/> words unless
    /// VocabSize is set.
    /// </summary>
    public static LanguageModel Train(TrainingOptions options, string outDir, Action<TrainingProgress>? progress = null,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Data != null) return Train(options.Data, options, outDir, options.Valid, resume: false, progress, cancel);
        ModelDirectory.EnsureWritable(outDir);
        string text = DotnetDocsCorpus.Extract();
        if (options.VocabSize == null && options.Tokenizer == "word") options = options with { VocabSize = DefaultCorpusVocabSize };
        string? valid = options.Valid == null ? null : CorpusReader.ReadText(options.Valid);
        return Train(text, valid, options, outDir, resume: false, progress, cancel);
    }

    /// <summary>As <see cref="Train(TrainingOptions, string, Action{TrainingProgress}?, CancellationToken)"/>, reporting
    /// through an IProgress (called on the training thread, after every step and every validation).</summary>
    public static LanguageModel Train(TrainingOptions options, string outDir, IProgress<TrainingProgress> progress, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(progress);
        return Train(options, outDir, progress.Report, cancel);
    }

    /// <summary>
    /// Continues the run in outDir from its last.ckpt, on the data, sizes and recipe it was started with; each bound
    /// or thread count given replaces the run's. With <paramref name="cell"/>, a run of another cell is refused.
    /// </summary>
    /// <exception cref="CheckpointException">outDir holds no readable last.ckpt, or it has no training options.</exception>
    /// <exception cref="ArgumentException">The run's cell is not <paramref name="cell"/> (ParamName "cell").</exception>
    public static LanguageModel Resume(string outDir, int? epochs = null, long? steps = null, double? minutes = null, int? threads = null,
        CellType? cell = null, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        string last = Path.Combine(outDir, ModelDirectory.LastFile);
        var from = Checkpoint.Load(last);
        var saved = from.Header.Training ?? throw new CheckpointException(last, "the checkpoint has no training options to resume from.");
        if (cell is CellType c && c != saved.Cell)
            throw new ArgumentException($"the run in {outDir} trains a {saved.Cell.Name()} model, not {c.Name()}; leave the cell out to resume it.", nameof(cell));
        var o = saved with
        {
            Epochs = epochs ?? saved.Epochs, Steps = steps ?? saved.Steps, Minutes = minutes ?? saved.Minutes, Threads = threads ?? saved.Threads,
        };
        if (o.Data != null)
            return Train(o, outDir, resume: true, progress, cancel,
                (opt, tokenizer, idsPath) => TrainingData.FromFiles(opt, o.Data, o.Valid, tokenizer, idsPath, cancel: cancel), resumed: from);
        string text = DotnetDocsCorpus.Extract();
        string? valid = o.Valid == null ? null : CorpusReader.ReadText(o.Valid);
        return Train(o, outDir, resume: true, progress, cancel,
            (opt, tokenizer, idsPath) => TrainingData.Build(opt, text, valid, tokenizer, idsPath), resumed: from);
    }

    /// <summary>
    /// Fine-tunes a trained model on new text: a new run in outDir that starts from the weights and tokenizer of
    /// <paramref name="fromPath"/> (a model folder or checkpoint file) with a fresh optimiser and schedule. The
    /// architecture is the model's (see <see cref="FineTunedOptions"/>); the data, the recipe and the bounds are
    /// <paramref name="options"/>'. Characters the vocabulary lacks are handled as <paramref name="fineTune"/> says,
    /// which also collects them. The model at fromPath is only read.
    /// </summary>
    /// <exception cref="CheckpointException">fromPath holds no readable model.</exception>
    public static LanguageModel FineTune(string fromPath, string trainPath, TrainingOptions options, string outDir,
        string? validPath = null, FineTuning? fineTune = null, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fromPath);
        CheckFineTuneFolder(fromPath, outDir);
        return FineTune(Checkpoint.Load(fromPath), trainPath, options, outDir, validPath, fineTune, progress, cancel);
    }

    /// <summary>As the path overload, from a checkpoint already loaded (its FilePath, when it has one, is only read).</summary>
    public static LanguageModel FineTune(Checkpoint start, string trainPath, TrainingOptions options, string outDir,
        string? validPath = null, FineTuning? fineTune = null, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentException.ThrowIfNullOrWhiteSpace(trainPath);
        if (start.FilePath != null) CheckFineTuneFolder(start.FilePath, outDir);
        fineTune ??= new FineTuning();
        return Train(FineTunedOptions(start, options), outDir, resume: false, progress, cancel,
            (o, tokenizer, idsPath) => TrainingData.FromFiles(o, trainPath, validPath, tokenizer, idsPath, cancel: cancel, fineTune: fineTune),
            start);
    }

    /// <summary>
    /// The options of a fine-tuning run from <paramref name="start"/>: the given ones, with the architecture (cell,
    /// layers, sizes, tied weights) and the tokenizer kind of the model, whose weights the run starts from.
    /// </summary>
    public static TrainingOptions FineTunedOptions(Checkpoint start, TrainingOptions given)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(given);
        if (given.ForgetBias != null)
            throw new ArgumentException("ForgetBias initialises a new model; a fine-tuned one keeps its trained weights.", nameof(given));
        var m = start.Header.Model;
        return given with
        {
            Cell = m.Cell, Layers = m.NumLayers, Emb = m.EmbDim, Hidden = m.HiddenDim, TieWeights = m.TieWeights,
            Tokenizer = start.Tokenizer.Kind, VocabSize = null,
        };
    }

    /// <summary>
    /// The recipe of the run that trained <paramref name="start"/>, as the base of a fine-tuning run's options: without
    /// its data, its bounds and the forget-gate initialisation, which belong to that run. Null when the checkpoint
    /// does not hold it (an imported model).
    /// </summary>
    public static TrainingOptions? FineTuneRecipe(Checkpoint start)
    {
        ArgumentNullException.ThrowIfNull(start);
        return start.Header.Training is TrainingOptions saved
            ? saved with { Data = null, Valid = null, Epochs = null, Steps = null, Minutes = null, ForgetBias = null }
            : null;
    }

    /// <summary>Refuses a fine-tuning run into the folder of the model it starts from, which it would overwrite.</summary>
    public static void CheckFineTuneFolder(string fromPath, string outDir)
    {
        string a = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar);
        string b = Path.GetFullPath(Directory.Exists(fromPath) ? fromPath : Path.GetDirectoryName(Path.GetFullPath(fromPath))!).TrimEnd(Path.DirectorySeparatorChar);
        if (a == b)
            throw new ArgumentException($"the fine-tuned run must go to another folder than the model it starts from ({fromPath}).", nameof(outDir));
    }

    /// <summary>
    /// Trains with the data <paramref name="buildData"/> makes from the (resumed) options, the tokenizer of the run
    /// resumed or the model fine-tuned, and the ids file of a stream run. A <paramref name="start"/> checkpoint gives
    /// the first weights of a new run (fine-tuning); resuming continues outDir's last.ckpt, optimiser and all.
    /// </summary>
    private static LanguageModel Train(TrainingOptions options, string outDir, bool resume, Action<TrainingProgress>? progress,
        CancellationToken cancel, Func<TrainingOptions, Tokenizer?, string?, TrainingData> buildData, Checkpoint? start = null,
        Checkpoint? resumed = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ModelDirectory.EnsureWritable(outDir);
        Checkpoint? from = resumed;
        if (resume)
        {
            from ??= Checkpoint.Load(Path.Combine(outDir, ModelDirectory.LastFile));
            options = ResumedOptions(from, options);
        }
        using var data = buildData(options, from?.Tokenizer ?? start?.Tokenizer,
            options.Mode == DataMode.Stream ? Path.Combine(outDir, ModelDirectory.TrainIdsFile) : null);
        RecurrentLanguageModel model;
        if (from != null) model = from.CreateModel(options.Threads);
        else if (start != null)
        {
            // The trained weights in a model with this run's regularisation.
            model = start.CreateModel(options.Threads, start.Header.Model with { Dropout = options.Dropout, WeightDropout = options.WeightDropout });
            model.DropoutRng.SetState(new Rng((ulong)options.Seed ^ 0xD409_0u).GetState());
        }
        else
        {
            model = new RecurrentLanguageModel(options.ModelConfig(data.Tokenizer.VocabSize, data.Tokenizer.PadId), options.Threads);
            var rng = new Rng((ulong)options.Seed);
            Initialization.Apply(model, options.Init, rng, options.InitRange);
            if (options.ForgetBias is float fb) Initialization.SetForgetBias(model, fb);
            model.DropoutRng.SetState(new Rng((ulong)options.Seed ^ 0xD409_0u).GetState());
        }
        using (var trainer = new Trainer(model, data.Tokenizer, data.Train, data.Valid, options, outDir, from) { Progress = progress })
            trainer.Run(cancel);
        model.Dispose();
        return Load(outDir, options.Threads);
    }

    /// <summary>
    /// The options of a resumed run: the model's sizes and the data's shape come from the checkpoint (they
    /// cannot change mid-run); the stopping bounds and thread count come from the new options.
    /// </summary>
    public static TrainingOptions ResumedOptions(Checkpoint from, TrainingOptions given)
    {
        var saved = from.Header.Training ?? throw new CheckpointException("last.ckpt", "the checkpoint has no training options to resume.");
        return saved with { Epochs = given.Epochs, Steps = given.Steps, Minutes = given.Minutes, Threads = given.Threads };
    }

    /// <summary>
    /// Loads a checkpoint file, or the best (else last) checkpoint of a run's folder. With a precision other than
    /// F32 the head's weights are kept in bf16 or int8 for generation, scoring and evaluation (see
    /// <see cref="RecurrentLanguageModel.SetPrecision"/>); such a model cannot be trained further.
    /// </summary>
    public static LanguageModel Load(string path, int threads = 1, Precision precision = Precision.F32)
    {
        var ckpt = Checkpoint.Load(path);
        var model = ckpt.CreateModel(threads);
        try
        {
            model.Eval();
            model.SetPrecision(precision);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new LanguageModel(model, ckpt.Tokenizer, ckpt.Header.Training);
    }

    /// <summary>How the head's weights are stored for inference (<see cref="Load"/>'s precision).</summary>
    public Precision Precision => Model.Precision;

    /// <summary>
    /// The result of scoring a text: the mean loss over the Tokens predicted, and the Characters those tokens hold
    /// (in stream mode every character but those of the first token, which only gives context).
    /// </summary>
    public sealed record Score(double Loss, long Tokens, long Characters)
    {
        /// <summary>The characters the vocabulary lacked, skipped or replaced (see <see cref="UnknownHandling"/>).</summary>
        public UnknownCharacters Unknown { get; init; } = new();
        public double Perplexity => Math.Exp(Loss);
        /// <summary>Bits per character: the total loss in nats over ln 2 over the characters scored.</summary>
        public double BitsPerCharacter => Characters == 0 ? 0 : Loss * Tokens / Characters / Math.Log(2);
    }

    /// <summary>
    /// The mean loss per token of a text, evaluated as the model was trained: line by line (sentence mode), or as
    /// one stream with the hidden state carried (stream mode), where every token but the first is scored once
    /// (<see cref="Evaluator.ScoreEveryToken"/>; batch: the parallel streams, 0 for the training batch).
    /// </summary>
    /// <remarks>Characters the vocabulary lacks are skipped by default (counted in <see cref="Score.Unknown"/>).</remarks>
    public Score Evaluate(string text, int batch = 0, UnknownHandling unknown = UnknownHandling.Skip)
    {
        ArgumentNullException.ThrowIfNull(text);
        var o = EvaluationOptions(batch);
        var found = new UnknownCharacters();
        text = Tokenizer.Prepare(text, unknown, found);
        if (o.Mode == DataMode.Sentences)
        {
            var (loss, tokens) = Evaluator.Evaluate(Model, SentenceDataset.FromText(text, Tokenizer, o.Batch, o.Ctx, shuffle: false));
            return new Score(loss, tokens, text.Length) { Unknown = found };
        }
        return ScoreStream(Tokenizer.Encode(text), text.Length, o, nameof(text)) with { Unknown = found };
    }

    /// <summary>
    /// Scores a text file (or folder of .txt files) as <see cref="Evaluate"/> scores its text. In stream
    /// mode the file is read and tokenised piece by piece (see <see cref="CorpusReader.ReadChunks"/>); only the ids are
    /// held. Sentence mode reads the text whole.
    /// </summary>
    /// <exception cref="CorpusException">The file is missing, empty, binary or not UTF-8.</exception>
    public Score EvaluateFile(string path, int batch = 0, UnknownHandling unknown = UnknownHandling.Skip)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var o = EvaluationOptions(batch);
        if (o.Mode == DataMode.Sentences) return Evaluate(CorpusReader.ReadText(path), batch, unknown);
        long characters = 0;
        var found = new UnknownCharacters();
        int[] ids;
        try
        {
            ids = Tokenizer.EncodeChunks(CorpusReader.ReadChunks(path).Select(chunk =>
            {
                chunk = Tokenizer.Prepare(chunk, unknown, found);
                characters += chunk.Length;
                return chunk;
            }));
        }
        catch (ArgumentException e) when (e is not ArgumentNullException)
        {
            throw new CorpusException(path, $"{path}: {e.Message}", e);
        }
        return ScoreStream(ids, characters, o, nameof(path)) with { Unknown = found };
    }

    private TrainingOptions EvaluationOptions(int batch)
    {
        var o = Options ?? new TrainingOptions();
        return batch > 0 ? o with { Batch = batch } : o;
    }

    /// <summary>Scores ids as one stream with the hidden state carried: every token but the first.</summary>
    private Score ScoreStream(int[] ids, long characters, TrainingOptions o, string paramName)
    {
        if (ids.Length < 2) throw new ArgumentException("the text has fewer than 2 tokens: nothing to score.", paramName);
        // Streams of at least one window each, so short texts are not cut into many one-token streams.
        int streams = Math.Max(1, Math.Min(o.Batch, (ids.Length - 1) / o.Ctx));
        var (sum, tokens) = Evaluator.ScoreEveryToken(Model, ids, streams, o.Ctx);
        long scoredCharacters = characters - Tokenizer.Decode(ids.AsSpan(0, 1)).Length;
        return new Score(sum / tokens, tokens, scoredCharacters);
    }

    /// <summary>Continues a prompt; yields each token's text as it comes.</summary>
    public IEnumerable<string> Generate(string prompt, int maxTokens = 200, SamplingOptions? sampling = null, ulong seed = 1) =>
        Generator.Generate(prompt, maxTokens, sampling ?? new SamplingOptions(), seed);

    /// <summary>
    /// Continues a prompt, yielding text as it is generated: one token's at a time (text that might begin a stop
    /// sequence is held back until it is decided). A beam search (options.Beam &gt; 1) yields its best text at the end.
    /// Cancelling stops the generation within one step (OperationCanceledException) and frees its session.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range (ParamName: the GenerationOptions property), or the prompt cannot be encoded ("prompt").</exception>
    public async IAsyncEnumerable<string> GenerateAsync(string prompt, GenerationOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        options ??= new GenerationOptions();
        options.Validate();
        await Task.Yield();
        if (options.Beam > 1)
        {
            var best = BeamSearch.Run(Generator, prompt, options, cancel);
            if (best.Text.Length > 0) yield return best.Text;
            yield break;
        }
        using var g = Generator.Start(prompt, options, cancel);
        while (!g.IsFinished)
        {
            cancel.ThrowIfCancellationRequested();
            string piece = g.Next();
            if (piece.Length > 0) yield return piece;
        }
    }

    /// <summary>One whole generation (beam search when options.Beam &gt; 1): text, tokens, why it ended, log-probability.</summary>
    public GenerationResult Complete(string prompt, GenerationOptions? options = null, CancellationToken cancel = default) =>
        Generator.Complete(prompt, options ?? new GenerationOptions(), cancel);

    /// <summary>Several samples in one call: `samples` per temperature, the i-th with seed options.Seed + i.</summary>
    public IReadOnlyList<GenerationResult> Samples(string prompt, GenerationOptions options, IReadOnlyList<float>? temperatures = null,
        int samples = 1, CancellationToken cancel = default) =>
        Generator.Samples(prompt, options, temperatures, samples, cancel);

    /// <summary>The k most likely next tokens after a prefix, with their probabilities at a temperature.</summary>
    public IReadOnlyList<TokenCandidate> Candidates(string prefix, int k = 10, float temperature = 1f, UnknownHandling unknown = UnknownHandling.Error) =>
        Generator.Candidates(prefix, k, temperature, unknown);

    /// <summary>The log-probability of each token and line of a text (see <see cref="TextScorer"/>).</summary>
    public IEnumerable<LineScore> ScoreLines(string text, ScoreContext context = ScoreContext.Zero,
        UnknownHandling unknown = UnknownHandling.Error, UnknownCharacters? found = null, CancellationToken cancel = default) =>
        Scorer.Score(text, context, unknown, found, cancel);

    public void Dispose() => Model.Dispose();
}
