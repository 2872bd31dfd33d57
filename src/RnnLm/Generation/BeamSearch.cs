namespace RnnLm.Generation;

/// <summary>
/// Beam search: keeps the Beam most likely continuations (by summed log-probability) at each step, each with its own
/// state, and returns the finished one with the best log-probability / tokens^LengthPenalty. A hypothesis finishes
/// when a stop sequence appears in its text (cut before it) or at MaxTokens. Deterministic: the seed, temperature,
/// top-k, top-p and repetition penalty play no part. Ties go to the earlier beam, then the lower token id.
/// </summary>
public static class BeamSearch
{
    private sealed record Hypothesis(int[] Ids, double LogProb, int Slot);

    private readonly record struct Candidate(double Score, int Beam, int Token);

    /// <summary>Ranks candidates: higher score first, then earlier beam, then lower token id.</summary>
    private sealed class BestFirst : IComparer<Candidate>
    {
        public static readonly BestFirst Instance = new();
        public int Compare(Candidate a, Candidate b) =>
            a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Beam != b.Beam ? a.Beam.CompareTo(b.Beam) : a.Token.CompareTo(b.Token);
    }

    /// <summary>Worst first, for a bounded heap of the best candidates.</summary>
    private sealed class WorstFirst : IComparer<Candidate>
    {
        public static readonly WorstFirst Instance = new();
        public int Compare(Candidate a, Candidate b) => BestFirst.Instance.Compare(b, a);
    }

    /// <summary>The best continuation of prompt under options (Beam, LengthPenalty, MaxTokens, Stop, Unknown).</summary>
    public static GenerationResult Run(TextGenerator generator, string prompt, GenerationOptions options, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var tokenizer = generator.Tokenizer;
        string text = generator.PreparePrompt(prompt, options.Unknown);
        var promptIds = generator.EncodePrompt(text);
        bool lineStart = TextGenerator.AtLineStart(text);
        using var session = generator.OpenSession(1);
        foreach (int id in promptIds)
        {
            cancel.ThrowIfCancellationRequested();
            session.Step(id);
        }
        if (options.MaxTokens == 0) return new GenerationResult("", 0, FinishReason.Length, 0, options.Temperature, options.Seed);

        int W = options.Beam, V = generator.Model.Config.VocabSize, stateLength = session.State.Length, pad = tokenizer.PadId;
        // Each alive hypothesis owns a slot: its state and next-token logits; the next step's go to the other pool.
        float[][] states = Pool(W, stateLength), logits = Pool(W, V), nextStates = Pool(W, stateLength), nextLogits = Pool(W, V);
        session.State.CopyTo(states[0]);
        session.Logits.CopyTo(logits[0]);
        var alive = new List<Hypothesis> { new([], 0, 0) };
        var finished = new List<(string Text, int Tokens, double LogProb, FinishReason Finish)>();
        var heap = new PriorityQueue<Candidate, Candidate>(2 * W + 1, WorstFirst.Instance);
        var scratch = new float[V];
        var ranked = new List<Candidate>(2 * W);

        for (int step = 0; step < options.MaxTokens && alive.Count > 0; step++)
        {
            cancel.ThrowIfCancellationRequested();
            RankExtensions(alive, logits, pad, W, heap, scratch, ranked);

            bool last = step == options.MaxTokens - 1;
            var next = new List<Hypothesis>(W);
            for (int rank = 0; rank < ranked.Count && next.Count < W; rank++)
            {
                var c = ranked[rank];
                var parent = alive[c.Beam];
                int[] ids = [.. parent.Ids, c.Token];
                string generated = PieceDecoder.Decode(tokenizer, lineStart, ids);
                int stopAt = FirstStop(generated, options.Stop);
                if (stopAt >= 0 || last)
                {
                    // Finished hypotheses count only among the best W, as the alive ones do.
                    if (rank < W)
                        finished.Add((stopAt >= 0 ? generated[..stopAt] : generated, ids.Length, c.Score,
                            stopAt >= 0 ? FinishReason.Stop : FinishReason.Length));
                    continue;
                }
                int slot = next.Count;
                states[parent.Slot].CopyTo(session.State);
                session.Step(c.Token);
                session.State.CopyTo(nextStates[slot]);
                session.Logits.CopyTo(nextLogits[slot]);
                next.Add(new Hypothesis(ids, c.Score, slot));
            }
            (states, nextStates) = (nextStates, states);
            (logits, nextLogits) = (nextLogits, logits);
            alive = next;
        }

        var best = Best(finished, options.LengthPenalty);
        return new GenerationResult(best.Text, best.Tokens, best.Finish, best.LogProb, options.Temperature, options.Seed);
    }

    /// <summary>Into ranked, best first: the 2W most probable one-token extensions of the alive hypotheses (never pad).</summary>
    private static void RankExtensions(List<Hypothesis> alive, float[][] logits, int pad, int W,
        PriorityQueue<Candidate, Candidate> heap, float[] scratch, List<Candidate> ranked)
    {
        heap.Clear();
        for (int b = 0; b < alive.Count; b++)
        {
            var row = logits[alive[b].Slot];
            double lse = LogProbabilities.LogSumExp(row, scratch), baseLp = alive[b].LogProb;
            for (int v = 0; v < row.Length; v++)
            {
                if (v == pad) continue;
                var c = new Candidate(baseLp + row[v] - lse, b, v);
                if (heap.Count < 2 * W) heap.Enqueue(c, c);
                else if (BestFirst.Instance.Compare(c, heap.Peek()) < 0) heap.EnqueueDequeue(c, c);
            }
        }
        ranked.Clear();
        while (heap.Count > 0) ranked.Add(heap.Dequeue());
        ranked.Reverse();
    }

    /// <summary>The finished hypothesis of the highest <see cref="Normalised"/> score (the first of equals).</summary>
    private static (string Text, int Tokens, double LogProb, FinishReason Finish) Best(
        List<(string Text, int Tokens, double LogProb, FinishReason Finish)> finished, double lengthPenalty)
    {
        var best = finished[0];
        double bestScore = Normalised(best.LogProb, best.Tokens, lengthPenalty);
        foreach (var f in finished)
        {
            double s = Normalised(f.LogProb, f.Tokens, lengthPenalty);
            if (s > bestScore) { best = f; bestScore = s; }
        }
        return best;
    }

    /// <summary>The rank of a finished hypothesis: log-probability / tokens^alpha.</summary>
    public static double Normalised(double logProb, int tokens, double alpha) => logProb / Math.Pow(tokens, alpha);

    /// <summary>Where the first stop sequence starts in text, or -1.</summary>
    public static int FirstStop(string text, IReadOnlyList<string> stops)
    {
        int first = -1;
        foreach (var stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first;
    }

    private static float[][] Pool(int count, int length)
    {
        var pool = new float[count][];
        for (int i = 0; i < count; i++) pool[i] = new float[length];
        return pool;
    }
}
