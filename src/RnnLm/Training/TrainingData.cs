using RnnLm.Data;

namespace RnnLm.Training;

/// <summary>The tokenizer and the training and validation batches of a run, built from text.</summary>
public sealed record TrainingData(Tokenizer Tokenizer, BatchDataset Train, BatchDataset? Valid) : IDisposable
{
    /// <summary>The memory-mapped token ids of a stream run, if any (closed by Dispose).</summary>
    public TokenIdFile? TrainIds { get; init; }

    public void Dispose() => TrainIds?.Dispose();

    /// <summary>
    /// Builds the data of a run. With no validation text, the last ValidFraction of the training text is held
    /// out (by lines in sentence mode, by tokens in stream mode). The tokenizer is built from the training text
    /// (from all of it when a fraction is held out), unless one is given (resuming).
    /// </summary>
    /// <param name="idsPath">In stream mode, where the training token ids are written once and memory-mapped from
    /// (an existing file is reused when resuming with the run's tokenizer); null keeps them in memory.</param>
    /// <param name="fineTune">The tokenizer is a trained model's, the text new to it (see <see cref="FineTuning"/>):
    /// unknown characters are handled as it says, and an existing ids file is never reused.</param>
    public static TrainingData Build(TrainingOptions o, string trainText, string? validText, Tokenizer? tokenizer = null,
        string? idsPath = null, FineTuning? fineTune = null)
    {
        bool resuming = tokenizer != null && fineTune == null;
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(trainText);
        o.Validate();
        if (fineTune != null)
        {
            ArgumentNullException.ThrowIfNull(tokenizer);
            trainText = fineTune.Prepare(tokenizer, trainText);
            if (validText != null) validText = fineTune.Prepare(tokenizer, validText);
        }
        tokenizer ??= TokenizerFactory.Build(o.Tokenizer, trainText, TokenizerOptionsOf(o));
        if (o.Mode == DataMode.Sentences)
        {
            if (validText == null) (trainText, validText) = DataSplit.SplitLines(trainText, o.ValidFraction);
            var train = SentenceDataset.FromText(trainText, tokenizer, o.Batch, o.Ctx, shuffle: true, seed: o.Seed);
            BatchDataset? valid = null;
            if (!string.IsNullOrWhiteSpace(validText))
                valid = SentenceDataset.FromText(validText, tokenizer, o.Batch, o.Ctx, shuffle: false, seed: o.Seed);
            return new TrainingData(tokenizer, train, valid);
        }
        int[]? validIds = validText == null ? null : tokenizer.Encode(validText);
        if (idsPath == null) return StreamData(o, tokenizer, new ArrayTokenSource(tokenizer.Encode(trainText)), null, validIds);
        return MappedStreamData(o, tokenizer, MapIds(idsPath, tokenizer, resuming, [trainText]), validIds);
    }

    /// <summary>
    /// Builds the data of a run from corpus files (see <see cref="CorpusReader.ReadChunks"/>), as
    /// <see cref="Build"/> does from their text.
    /// In stream mode with an <paramref name="idsPath"/>, the training text is never held whole: a first pass over
    /// it builds the tokenizer (unless one is given), a second encodes it piece by piece into the ids file (written
    /// under a temporary name and renamed when complete, so that a failure never leaves a partial file under
    /// <paramref name="idsPath"/>), which is then memory-mapped. The validation file is encoded piece by piece into
    /// memory. The ids are exactly those of the text path.
    /// Sentence mode, and stream mode without an ids file, read the texts whole: a sentence dataset keeps every
    /// sentence in memory by design.
    /// </summary>
    /// <param name="trainPath">The training file, or a folder of .txt files.</param>
    /// <param name="validPath">The validation file or folder; null holds out the end of the training data.</param>
    /// <param name="tokenizer">The run's tokenizer when resuming; null builds one from the training text.</param>
    /// <param name="idsPath">In stream mode, where the training token ids are written and memory-mapped from (an
    /// existing file is reused when resuming); null keeps them in memory.</param>
    /// <param name="chunkChars">The size of the pieces the texts are read in.</param>
    /// <param name="cancel">Checked between pieces while reading (tokenising a large corpus takes a while).</param>
    /// <param name="fineTune">See <see cref="Build"/>.</param>
    /// <exception cref="CorpusException">A file is missing, empty, binary or not UTF-8.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> was cancelled while the texts were read.</exception>
    public static TrainingData FromFiles(TrainingOptions o, string trainPath, string? validPath, Tokenizer? tokenizer = null,
        string? idsPath = null, int chunkChars = 1 << 20, CancellationToken cancel = default, FineTuning? fineTune = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentException.ThrowIfNullOrWhiteSpace(trainPath);
        o.Validate();
        if (o.Mode == DataMode.Sentences || idsPath == null)
        {
            string trainText = CorpusReader.ReadText(trainPath);
            string? validText = validPath == null ? null : CorpusReader.ReadText(validPath);
            return Build(o, trainText, validText, tokenizer, idsPath, fineTune);
        }
        bool resuming = tokenizer != null && fineTune == null;
        var train = Cancellable(CorpusReader.ReadChunks(trainPath, chunkChars), cancel);
        var valid = validPath == null ? null : Cancellable(CorpusReader.ReadChunks(validPath, chunkChars), cancel);
        if (fineTune != null)
        {
            ArgumentNullException.ThrowIfNull(tokenizer);
            train = train.Select(chunk => fineTune.Prepare(tokenizer, chunk));
            valid = valid?.Select(chunk => fineTune.Prepare(tokenizer, chunk));
        }
        tokenizer ??= TokenizerFactory.Build(o.Tokenizer, train, TokenizerOptionsOf(o));
        // The validation file is read before the ids file is written, so that a bad one fails before anything is written.
        int[]? validIds = valid == null ? null : tokenizer.EncodeChunks(valid);
        return MappedStreamData(o, tokenizer, MapIds(idsPath, tokenizer, resuming, train), validIds);
    }

    private static IEnumerable<string> Cancellable(IEnumerable<string> chunks, CancellationToken cancel) =>
        chunks.Select(chunk =>
        {
            cancel.ThrowIfCancellationRequested();
            return chunk;
        });

    private static TokenizerOptions TokenizerOptionsOf(TrainingOptions o) => new() { MaxVocab = o.VocabSize, MinCount = o.MinCount };

    /// <summary>
    /// Writes the ids of the training text to <paramref name="idsPath"/> (unless resuming and it exists) and maps it.
    /// The file is written under a temporary name and renamed once complete; on failure the temporary file is deleted.
    /// </summary>
    private static TokenIdFile MapIds(string idsPath, Tokenizer tokenizer, bool resuming, IEnumerable<string> trainChunks)
    {
        if (!(resuming && File.Exists(idsPath)))
        {
            string full = Path.GetFullPath(idsPath);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            string temp = full + ".tmp";
            try
            {
                using (var writer = new TokenIdFileWriter(temp, tokenizer.VocabSize))
                    tokenizer.EncodeChunks(trainChunks, writer.Append);
                File.Move(temp, full, overwrite: true);
            }
            catch
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                throw;
            }
        }
        var mapped = TokenIdFile.Open(idsPath);
        if (mapped.VocabSize != tokenizer.VocabSize)
        {
            mapped.Dispose();
            throw new InvalidDataException($"{idsPath} holds ids of a {mapped.VocabSize}-token vocabulary, the tokenizer has {tokenizer.VocabSize}.");
        }
        return mapped;
    }

    /// <summary>Stream-mode data over a mapped ids file, which is closed if this fails.</summary>
    private static TrainingData MappedStreamData(TrainingOptions o, Tokenizer tokenizer, TokenIdFile mapped, int[]? validIds)
    {
        try
        {
            return StreamData(o, tokenizer, mapped, mapped, validIds);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    /// <summary>Stream-mode data from the training ids, holding out their end when there are no validation ids.</summary>
    private static TrainingData StreamData(TrainingOptions o, Tokenizer tokenizer, TokenSource all, TokenIdFile? mapped, int[]? validIds)
    {
        TokenSource trainIds;
        if (validIds == null)
        {
            (trainIds, var held) = DataSplit.SplitTokens(all, o.ValidFraction);
            validIds = held.ToArray();
        }
        else trainIds = all;
        var train = new StreamDataset(trainIds, o.Batch, o.Ctx);
        // Validation uses a narrower batch so that short validation streams still make several windows.
        BatchDataset? valid = validIds.Length > 1 ? new StreamDataset(validIds, ValidationBatch(validIds.Length, o), o.Ctx) : null;
        return new TrainingData(tokenizer, train, valid) { TrainIds = mapped };
    }

    private static int ValidationBatch(int tokens, TrainingOptions o) => Math.Max(1, Math.Min(o.Batch, (tokens - 1) / (o.Ctx + 1)));
}
