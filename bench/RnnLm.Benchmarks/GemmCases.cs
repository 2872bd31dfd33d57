using RnnLm.Tensors;

namespace RnnLm.Benchmarks;

/// <summary>One benchmarked multiply: C[m,n] = op(A)·op(B) with tightly packed row-major operands.</summary>
public sealed record GemmCase(string Name, GemmVariant Variant, int M, int N, int K)
{
    public double Flops => 2.0 * M * N * K;

    public int Lda => Variant == GemmVariant.TN ? M : K;
    public int Ldb => Variant == GemmVariant.NT ? K : N;

    public long ALength => (long)M * K;
    public long BLength => (long)K * N;
    public long CLength => (long)M * N;

    /// <summary>Square cases and the output layer of the language model (batch·steps 3840, hidden 128, vocabulary 32011).</summary>
    public static readonly GemmCase[] All =
    [
        new("square-nn", GemmVariant.NN, 2048, 2048, 2048),
        new("square-nt", GemmVariant.NT, 2048, 2048, 2048),
        new("square-tn", GemmVariant.TN, 2048, 2048, 2048),
        new("lm-logits", GemmVariant.NT, 3840, 32011, 128),
        new("lm-grad-input", GemmVariant.NN, 3840, 128, 32011),
        new("lm-grad-weight", GemmVariant.TN, 32011, 128, 3840),
        // One recurrent step (batch 128, hidden 128): forward, gradient wrt the hidden state, wrt the recurrent weights.
        new("step-nt", GemmVariant.NT, 128, 128, 128),
        new("step-nn", GemmVariant.NN, 128, 128, 128),
        new("step-tn", GemmVariant.TN, 128, 128, 128),
    ];

    public static GemmCase Find(string name) =>
        Array.Find(All, c => c.Name == name) ?? throw new ArgumentException($"unknown case {name}", nameof(name));

    public static float[] Random(long length, int seed)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (long i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
