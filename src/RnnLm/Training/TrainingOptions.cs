using RnnLm.Nn;

namespace RnnLm.Training;

public enum DataMode
{
    /// <summary>One sentence per line, each from a zero hidden state, padded to the batch's longest (the book's).</summary>
    Sentences,
    /// <summary>The token stream in parallel streams, the hidden state carried between windows (truncated BPTT).</summary>
    Stream,
}

public enum LrSchedule
{
    /// <summary>The learning rate stays constant.</summary>
    Constant,
    /// <summary>Divided by LrDecay whenever the validation loss does not improve.</summary>
    Plateau,
    /// <summary>Cosine decay to zero over the run (its steps, or its time budget when only Minutes bounds it).</summary>
    Cosine,
}

/// <summary>How to train: the model's sizes and everything else a run needs. Defaults are the book's recipe.</summary>
public sealed record TrainingOptions
{
    /// <summary>Where the training text came from (a file or folder; null: the .NET documentation corpus).</summary>
    public string? Data { get; init; }
    /// <summary>The validation file, or null for a held-out fraction of the training text.</summary>
    public string? Valid { get; init; }
    public string Tokenizer { get; init; } = "word";
    public DataMode Mode { get; init; } = DataMode.Sentences;
    public int? VocabSize { get; init; }
    public int MinCount { get; init; } = 1;
    /// <summary>The recurrent layer: Elman (the book's), GRU or LSTM.</summary>
    public CellType Cell { get; init; } = CellType.Elman;
    /// <summary>LSTM only: the forget gate's bias starts at this value (bias_ih; bias_hh's part at 0). Null: PyTorch's init.</summary>
    public float? ForgetBias { get; init; }
    public int Layers { get; init; } = 2;
    public int Emb { get; init; } = 128;
    public int Hidden { get; init; } = 128;
    public int Ctx { get; init; } = 30;
    public int Batch { get; init; } = 128;
    public double Lr { get; init; } = 1e-3;
    public double WeightDecay { get; init; } = 0.01;
    public LrSchedule Schedule { get; init; } = LrSchedule.Constant;
    public double LrDecay { get; init; } = 4;
    /// <summary>Steps over which the learning rate rises linearly from lr/Warmup to the schedule's value (0: none).</summary>
    public int Warmup { get; init; }
    /// <summary>
    /// Epochs to train. Training stops at the first of Epochs, Steps and Minutes reached; null means no bound by
    /// epochs when Steps or Minutes is given, else one epoch (see <see cref="EpochLimit"/>).
    /// </summary>
    public int? Epochs { get; init; }
    public long? Steps { get; init; }
    public double? Minutes { get; init; }
    /// <summary>
    /// Average the weights over this last fraction of the run (0: off; the run's length as the cosine schedule
    /// measures it). Validation then picks the better of the average and the trained weights for best.ckpt;
    /// last.ckpt keeps both.
    /// </summary>
    public double Average { get; init; }
    /// <summary>Clip gradients to this global norm (0: no clipping).</summary>
    public double Clip { get; init; } = 0;
    public float Dropout { get; init; } = 0f;
    /// <summary>DropConnect on the recurrent matrices Uh: the probability of dropping each element in training.</summary>
    public float WeightDropout { get; init; } = 0f;
    public bool TieWeights { get; init; }
    public InitScheme Init { get; init; } = InitScheme.Book;
    public float InitRange { get; init; } = 0.1f;
    public int Seed { get; init; } = 42;
    /// <summary>Threads, 1 to 256; by default the number of cores (every count gives the same bits).</summary>
    public int Threads { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, RnnLm.Tensors.WorkerTeam.MaxThreads);
    /// <summary>Validate (and checkpoint) every this many steps, and not at epoch ends; 0: at the end of each epoch only.</summary>
    public int ValidEvery { get; init; } = 0;
    /// <summary>Fraction of the training text held out for validation when no validation file is given.</summary>
    public double ValidFraction { get; init; } = 0.1;

    /// <summary>Throws an ArgumentException naming the first property out of range (its ParamName and the message's first word).</summary>
    public void Validate()
    {
        if (!RnnLm.Data.TokenizerFactory.Kinds.Contains(Tokenizer))
            throw new ArgumentException($"{nameof(Tokenizer)} must be one of {string.Join(", ", RnnLm.Data.TokenizerFactory.Kinds)}, got '{Tokenizer}'.", nameof(Tokenizer));
        if (VocabSize is int v && v < 2) throw new ArgumentException($"{nameof(VocabSize)} must be at least 2, got {v}.", nameof(VocabSize));
        Check.Positive(MinCount, nameof(MinCount));
        if (!Enum.IsDefined(Cell)) throw new ArgumentException($"{nameof(Cell)} must be elman, gru or lstm, got {(int)Cell}.", nameof(Cell));
        if (ForgetBias is float fb)
        {
            if (Cell != CellType.Lstm)
                throw new ArgumentException($"{nameof(ForgetBias)} applies to the lstm cell only; this run's cell is {Cell.Name()}.", nameof(ForgetBias));
            if (!float.IsFinite(fb)) throw new ArgumentException($"{nameof(ForgetBias)} must be a finite number, got {fb}.", nameof(ForgetBias));
        }
        Check.Positive(Layers, nameof(Layers));
        Check.Positive(Emb, nameof(Emb));
        Check.Positive(Hidden, nameof(Hidden));
        Check.Positive(Ctx, nameof(Ctx));
        Check.Positive(Batch, nameof(Batch));
        Check.Positive(Lr, nameof(Lr));
        Check.NonNegative(WeightDecay, nameof(WeightDecay));
        if (!(LrDecay > 1) || double.IsInfinity(LrDecay)) throw new ArgumentException($"{nameof(LrDecay)} must be a finite number above 1, got {LrDecay}.", nameof(LrDecay));
        if (Warmup < 0) throw new ArgumentException($"{nameof(Warmup)} must be 0 or more steps, got {Warmup}.", nameof(Warmup));
        if (Epochs is int e) Check.Positive(e, nameof(Epochs));
        if (Steps is long s && s <= 0) throw new ArgumentException($"{nameof(Steps)} must be positive, got {s}.", nameof(Steps));
        if (Minutes is double m) Check.Positive(m, nameof(Minutes));
        if (!(Average >= 0 && Average <= 1)) throw new ArgumentException($"{nameof(Average)} must be a fraction in [0, 1], got {Average}.", nameof(Average));
        Check.NonNegative(Clip, nameof(Clip));
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"{nameof(Dropout)} must be in [0, 1), got {Dropout}.", nameof(Dropout));
        if (!(WeightDropout >= 0 && WeightDropout < 1)) throw new ArgumentException($"{nameof(WeightDropout)} must be in [0, 1), got {WeightDropout}.", nameof(WeightDropout));
        Check.Positive(InitRange, nameof(InitRange));
        if (Threads < 1 || Threads > RnnLm.Tensors.WorkerTeam.MaxThreads)
            throw new ArgumentException($"{nameof(Threads)} must be in 1..{RnnLm.Tensors.WorkerTeam.MaxThreads}, got {Threads}.", nameof(Threads));
        if (ValidEvery < 0) throw new ArgumentException($"{nameof(ValidEvery)} must be 0 or positive, got {ValidEvery}.", nameof(ValidEvery));
        if (!(ValidFraction > 0 && ValidFraction < 1)) throw new ArgumentException($"{nameof(ValidFraction)} must be in (0, 1), got {ValidFraction}.", nameof(ValidFraction));
    }

    /// <summary>The epochs a run may take: Epochs, else unbounded under Steps or Minutes, else 1.</summary>
    public int EpochLimit() => Epochs ?? (Steps == null && Minutes == null ? 1 : int.MaxValue);

    public ModelConfig ModelConfig(int vocabSize, int padIndex) =>
        new(vocabSize, Emb, Hidden, Layers, padIndex, Dropout, TieWeights, WeightDropout, Cell);
}
