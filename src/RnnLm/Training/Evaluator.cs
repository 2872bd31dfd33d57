using RnnLm.Data;
using RnnLm.Nn;

namespace RnnLm.Training;

/// <summary>The loss of a model over a dataset, in evaluation mode (no dropout), no gradient.</summary>
public static class Evaluator
{
    /// <summary>
    /// Mean loss per predicted token and the number of tokens. In stream mode the hidden state is carried from
    /// each window to the next, as in training (the standard protocol for PTB perplexity).
    /// </summary>
    public static (double MeanLoss, long Tokens) Evaluate(RecurrentLanguageModel model, BatchDataset data)
    {
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            double sum = 0;
            long count = 0;
            float[] state = [], next = [];
            int stateBatch = -1;
            var batch = data.CreateBatch();
            for (int i = 0; i < data.BatchCount; i++)
            {
                data.Fill(0, i, batch);
                int len = model.StateLength(batch.BatchSize);
                if (state.Length != len) { state = new float[len]; next = new float[len]; stateBatch = -1; }
                bool carry = !batch.ResetState && stateBatch == batch.BatchSize;
                sum += model.LossSum(batch.InputSpan, batch.TargetSpan, batch.BatchSize, batch.SeqLen, out int n,
                    carry ? state : default, next);
                (state, next) = (next, state);
                stateBatch = batch.BatchSize;
                count += n;
            }
            return (count == 0 ? 0 : sum / count, count);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }
}
