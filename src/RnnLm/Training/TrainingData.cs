using RnnLm.Data;

namespace RnnLm.Training;

/// <summary>The tokenizer and the training and validation batches of a run, built from text.</summary>
public sealed record TrainingData(Tokenizer Tokenizer, BatchDataset Train, BatchDataset? Valid)
{
    /// <summary>
    /// Builds the data of a run. With no validation text, the last ValidFraction of the training text is held
    /// out (by lines in sentence mode, by tokens in stream mode). The tokenizer is built from the training text
    /// (from all of it when a fraction is held out), unless one is given (resuming).
    /// </summary>
    public static TrainingData Build(TrainingOptions o, string trainText, string? validText, Tokenizer? tokenizer = null)
    {
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
            int[] trainIds = tokenizer.Encode(trainText), validIds;
            if (validText == null) (trainIds, validIds) = DataSplit.SplitTokens(trainIds, o.ValidFraction);
            else validIds = tokenizer.Encode(validText);
            var train = new StreamDataset(trainIds, o.Batch, o.Ctx);
            // Validation uses a narrower batch so that short validation streams still make several windows.
            BatchDataset? valid = validIds.Length > 1 ? new StreamDataset(validIds, ValidationBatch(validIds.Length, o), o.Ctx) : null;
            return new TrainingData(tokenizer, train, valid);
        }
    }

    private static int ValidationBatch(int tokens, TrainingOptions o) => Math.Max(1, Math.Min(o.Batch, (tokens - 1) / (o.Ctx + 1)));
}
