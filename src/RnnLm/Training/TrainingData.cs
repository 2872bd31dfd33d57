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
    public static TrainingData Build(TrainingOptions o, string trainText, string? validText, Tokenizer? tokenizer = null,
        string? idsPath = null)
    {
        bool resuming = tokenizer != null;
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(trainText);
        o.Validate();
        tokenizer ??= TokenizerFactory.Build(o.Tokenizer, trainText,
            new TokenizerOptions { MaxVocab = o.VocabSize, MinCount = o.MinCount });
        if (o.Mode == DataMode.Sentences)
        {
            if (validText == null) (trainText, validText) = DataSplit.SplitLines(trainText, o.ValidFraction);
            var train = SentenceDataset.FromText(trainText, tokenizer, o.Batch, o.Ctx, shuffle: true, seed: o.Seed);
            BatchDataset? valid = null;
            if (!string.IsNullOrWhiteSpace(validText))
                valid = SentenceDataset.FromText(validText, tokenizer, o.Batch, o.Ctx, shuffle: false, seed: o.Seed);
            return new TrainingData(tokenizer, train, valid);
        }
        else
        {
            TokenIdFile? mapped = null;
            TokenSource all;
            if (idsPath == null) all = new ArrayTokenSource(tokenizer.Encode(trainText));
            else
            {
                if (!(resuming && File.Exists(idsPath)))
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(idsPath))!);
                    TokenIdFile.Write(idsPath, tokenizer.Encode(trainText), tokenizer.VocabSize);
                }
                mapped = TokenIdFile.Open(idsPath);
                if (mapped.VocabSize != tokenizer.VocabSize)
                {
                    mapped.Dispose();
                    throw new InvalidDataException($"{idsPath} holds ids of a {mapped.VocabSize}-token vocabulary, the tokenizer has {tokenizer.VocabSize}.");
                }
                all = mapped;
            }
            TokenSource trainIds;
            int[] validIds;
            if (validText == null)
            {
                (trainIds, var held) = DataSplit.SplitTokens(all, o.ValidFraction);
                validIds = held.ToArray();
            }
            else
            {
                trainIds = all;
                validIds = tokenizer.Encode(validText);
            }
            var train = new StreamDataset(trainIds, o.Batch, o.Ctx);
            // Validation uses a narrower batch so that short validation streams still make several windows.
            BatchDataset? valid = validIds.Length > 1 ? new StreamDataset(validIds, ValidationBatch(validIds.Length, o), o.Ctx) : null;
            return new TrainingData(tokenizer, train, valid) { TrainIds = mapped };
        }
    }

    private static int ValidationBatch(int tokens, TrainingOptions o) => Math.Max(1, Math.Min(o.Batch, (tokens - 1) / (o.Ctx + 1)));
}
