using System.Diagnostics;
using RnnLm.Nn;
using RnnLm.Tensors;

namespace RnnLm.Generation;

/// <summary>
/// Generation speed: one token at a time, batch 1, the hidden state carried, each token drawn by the real sampler
/// (temperature 1) from the logits of the previous step, on a randomly initialised model of the given sizes.
/// </summary>
public static class GenerationBenchmark
{
    /// <summary>Generated: the ids drawn, in order (Tokens of them).</summary>
    public sealed record Result(int Vocab, int Emb, int Hidden, int Layers, int Tokens, int Threads,
        double Seconds, double TokensPerSecond, double MsPerToken, int[] Generated)
    {
        /// <summary>How the head's weights were stored (<see cref="RecurrentLanguageModel.SetPrecision"/>).</summary>
        public Precision Precision { get; init; }
    }

    /// <summary>Steps run (untimed) before the clock starts, so that the JIT and the buffers are warm.</summary>
    public const int WarmupTokens = 20;

    public static Result Run(int vocab, int emb, int hidden, int layers, int tokens = 2000, int threads = 1, int seed = 42,
        CellType cell = CellType.Elman, Precision precision = Precision.F32)
    {
        Check.Positive(tokens, nameof(tokens));
        if (vocab < 2) throw new ArgumentException($"vocab must be at least 2, got {vocab}.", nameof(vocab));
        using var model = new RecurrentLanguageModel(new ModelConfig(vocab, emb, hidden, layers, Cell: cell), threads);
        Initialization.Apply(model, InitScheme.Book, new Rng((ulong)seed));
        model.Eval();
        model.SetPrecision(precision);
        var sampler = new TokenSampler(new SamplingOptions(Temperature: 1f), new Rng((ulong)seed + 1));
        var state = new float[model.StateLength(1)];
        var logits = new float[vocab];
        var token = new int[1];
        int[] banned = [model.Config.PadIndex];
        var generated = new int[tokens];

        token[0] = 1;
        for (int i = 0; i < WarmupTokens; i++)
        {
            model.Step(token, state, logits);
            token[0] = sampler.Next(logits, banned);
        }
        // Timed: from a fresh state, the first token's logits, then sample → step for every token.
        Array.Clear(state);
        token[0] = 1;
        var sw = Stopwatch.StartNew();
        model.Step(token, state, logits);
        for (int n = 0; n < tokens; n++)
        {
            int next = sampler.Next(logits, banned);
            generated[n] = next;
            token[0] = next;
            model.Step(token, state, logits);
        }
        double secs = sw.Elapsed.TotalSeconds;
        return new Result(vocab, emb, hidden, layers, tokens, threads, secs,
            tokens / secs, 1000 * secs / tokens, generated) { Precision = precision };
    }
}
