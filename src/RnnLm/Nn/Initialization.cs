namespace RnnLm.Nn;

/// <summary>How the weights start.</summary>
public enum InitScheme
{
    /// <summary>The book's: Xavier-uniform for every matrix, U(0, 1) for every vector.</summary>
    Book,
    /// <summary>Every weight U(-a, a) (a = InitRange), biases zero: the word_language_model's choice.</summary>
    SmallUniform,
    /// <summary>Xavier-uniform matrices except orthogonal recurrent matrices Uh; biases zero.</summary>
    Orthogonal,
}

/// <summary>
/// Fills a model's parameters. The scheme applies to the embedding, the head and Elman layers; GRU and LSTM layers
/// always start as PyTorch's nn.GRU and nn.LSTM do, every weight and bias U(-1/√H, 1/√H), so that the gated cells
/// begin where their users expect. The padding row of the embedding is zeroed afterwards in every scheme.
/// </summary>
public static class Initialization
{
    public static void Apply(RecurrentLanguageModel model, InitScheme scheme, Rng rng, float range = 0.1f)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rng);
        var gated = model.Rnn.Layers.OfType<GatedRecurrentLayer>()
            .SelectMany(l => l.Parameters().Select(p => (p, k: 1f / MathF.Sqrt(l.HiddenDim))))
            .ToDictionary(x => x.p, x => x.k);
        foreach (var (name, p) in model.NamedParameters())
        {
            var data = p.Value.Data;
            if (gated.TryGetValue(p, out float k))
            {
                Uniform(data, -k, k, rng);
                continue;
            }
            bool matrix = p.Shape.Length > 1;
            switch (scheme)
            {
                case InitScheme.Book:
                    if (matrix) XavierUniform(p, rng); else Uniform(data, 0f, 1f, rng);
                    break;
                case InitScheme.SmallUniform:
                    if (matrix) Uniform(data, -range, range, rng); else Array.Clear(data);
                    break;
                case InitScheme.Orthogonal:
                    if (!matrix) Array.Clear(data);
                    else if (name.EndsWith(".Uh", StringComparison.Ordinal)) Orthogonal(p, rng);
                    else XavierUniform(p, rng);
                    break;
                default:
                    throw new ArgumentException($"unknown init scheme {scheme}.", nameof(scheme));
            }
        }
        model.Embedding.ZeroPaddingRow();
    }

    /// <summary>
    /// Sets every LSTM layer's forget-gate bias to `value` (in bias_ih; bias_hh's forget part to 0), so that the cell
    /// starts by keeping its state (Jozefowicz et al. 2015 recommend 1).
    /// </summary>
    public static void SetForgetBias(RecurrentLanguageModel model, float value)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Config.Cell != CellType.Lstm)
            throw new ArgumentException($"a forget-gate bias needs an lstm model; this one is {model.Config.Cell.Name()}.", nameof(model));
        foreach (var layer in model.Rnn.Layers.Cast<LstmLayer>())
        {
            int H = layer.HiddenDim;
            layer.BiasIh.Value.Data.AsSpan(H, H).Fill(value);
            layer.BiasHh.Value.Data.AsSpan(H, H).Clear();
        }
    }

    /// <summary>U(-a, a) with a = √(6 / (fan_in + fan_out)), as torch.nn.init.xavier_uniform_.</summary>
    public static void XavierUniform(Parameter p, Rng rng)
    {
        int rows = p.Shape[0], cols = p.Length / rows;
        float a = MathF.Sqrt(6f / (rows + cols));
        Uniform(p.Value.Data, -a, a, rng);
    }

    public static void Uniform(Span<float> data, float low, float high, Rng rng)
    {
        for (int i = 0; i < data.Length; i++) data[i] = low + (high - low) * rng.NextFloat();
    }

    /// <summary>A random orthogonal square matrix (Gram–Schmidt on a Gaussian matrix, in double).</summary>
    public static void Orthogonal(Parameter p, Rng rng)
    {
        int n = p.Shape[0];
        if (p.Shape.Length != 2 || p.Shape[1] != n) throw new ArgumentException("orthogonal init needs a square matrix.", nameof(p));
        var q = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
                q[i, j] = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            }
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < i; k++)
            {
                double dot = 0;
                for (int j = 0; j < n; j++) dot += q[i, j] * q[k, j];
                for (int j = 0; j < n; j++) q[i, j] -= dot * q[k, j];
            }
            double norm = 0;
            for (int j = 0; j < n; j++) norm += q[i, j] * q[i, j];
            norm = Math.Sqrt(norm);
            for (int j = 0; j < n; j++) q[i, j] /= norm;
        }
        var data = p.Value.Data;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) data[i * n + j] = (float)q[i, j];
    }
}
