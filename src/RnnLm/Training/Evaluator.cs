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
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> was cancelled (checked before each batch).</exception>
    public static (double MeanLoss, long Tokens) Evaluate(RecurrentLanguageModel model, BatchDataset data, CancellationToken cancel = default)
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
                cancel.ThrowIfCancellationRequested();
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

    /// <summary>
    /// The summed loss over every token of a stream but the first, each predicted once with the state carried, and
    /// their count (ids.Length - 1). The targets ids[1..] are cut into `batch` parallel streams of L = (N-1)/batch
    /// targets, stream b predicting ids[b·L + 1 .. (b+1)·L], in windows of `ctx` (the last may be shorter); the
    /// (N-1) mod batch targets left at the end continue stream batch-1 on a batch of one, from its state.
    /// </summary>
    public static (double Sum, long Tokens) ScoreEveryToken(RecurrentLanguageModel model, ReadOnlySpan<int> ids, int batch, int ctx)
    {
        ArgumentNullException.ThrowIfNull(model);
        Check.Positive(ctx, nameof(ctx));
        long targets = ids.Length - 1;
        if (targets < 1) throw new ArgumentException("the stream has fewer than 2 tokens: nothing to score.", nameof(ids));
        batch = (int)Math.Clamp(batch, 1, targets);
        long L = targets / batch;
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            double sum = 0;
            long count = 0;
            var state = new float[model.StateLength(batch)];
            var next = new float[state.Length];
            var x = new int[batch * ctx];
            var y = new int[batch * ctx];
            for (long t0 = 0; t0 < L; t0 += ctx)
            {
                int T = (int)Math.Min(ctx, L - t0);
                for (int b = 0; b < batch; b++)
                {
                    long start = b * L + t0;
                    ids.Slice((int)start, T).CopyTo(x.AsSpan(b * T, T));
                    ids.Slice((int)start + 1, T).CopyTo(y.AsSpan(b * T, T));
                }
                sum += model.LossSum(x.AsSpan(0, batch * T), y.AsSpan(0, batch * T), batch, T, out int n,
                    t0 == 0 ? default : state, next);
                (state, next) = (next, state);
                count += n;
            }
            // The tail: stream batch-1 goes on, alone.
            long rest = targets - L * batch;
            if (rest > 0)
            {
                var s1 = Row(model, state, batch, batch - 1);
                var n1 = new float[s1.Length];
                for (long t0 = 0; t0 < rest; t0 += ctx)
                {
                    int T = (int)Math.Min(ctx, rest - t0);
                    long start = L * batch + t0;
                    sum += model.LossSum(ids.Slice((int)start, T), ids.Slice((int)start + 1, T), 1, T, out int n, s1, n1);
                    (s1, n1) = (n1, s1);
                    count += n;
                }
            }
            return (sum, count);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    /// <summary>The state of sequence `row` of a batch's state [L, S, B, H], as the state of a batch of one.</summary>
    private static float[] Row(RecurrentLanguageModel model, float[] state, int batch, int row)
    {
        int H = model.Config.HiddenDim, blocks = state.Length / (batch * H);
        var one = new float[blocks * H];
        for (int k = 0; k < blocks; k++) state.AsSpan((k * batch + row) * H, H).CopyTo(one.AsSpan(k * H, H));
        return one;
    }
}
