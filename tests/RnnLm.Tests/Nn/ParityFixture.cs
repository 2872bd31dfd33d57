using System.Text.Json;
using RnnLm.Nn;

namespace RnnLm.Tests.Nn;

/// <summary>
/// One case of ../shared/fixtures/parity (Elman) or parity-cells (GRU, LSTM): weights, a batch and what PyTorch
/// computed from them. H0 and HN are in RnnLm's state layout [L, S, B, H] (S = 2 for LSTM: h, then c).
/// </summary>
public sealed class ParityFixture
{
    public required string Name { get; init; }
    public CellType Cell;
    public int Vocab, Emb, Hidden, Layers, Pad, Batch, Steps;
    public required int[] Input, Target;
    public float[]? H0;
    public required Dictionary<string, double[]> Params, Grads, ParamsAfter;
    public required double[] Logits, HN;
    public double Loss;
    public double Lr, Beta1, Beta2, Eps, WeightDecay;
    public int AdamSteps;

    /// <summary>The two fixture folders, each read whole: more cases may be added to either at any time.</summary>
    public static readonly string[] Folders = ["parity", "parity-cells"];

    /// <summary>Every case, as "folder/file.json".</summary>
    public static IEnumerable<string> Files() => Folders.SelectMany(folder =>
        Directory.GetFiles(SharedFolder.Combine("fixtures", folder), "*.json").OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => folder + "/" + Path.GetFileName(f)));

    public ModelConfig Config() => new(Vocab, Emb, Hidden, Layers, Pad, Cell: Cell);

    /// <summary>PyTorch's h [L,B,H] (and c for LSTM) as RnnLm's state [L, S, B, H].</summary>
    private static float[] State(IReadOnlyList<double> h, IReadOnlyList<double>? c, int layers)
    {
        int per = h.Count / layers, s = c == null ? 1 : 2;
        var state = new float[h.Count * s];
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < per; i++)
            {
                state[(l * s) * per + i] = (float)h[l * per + i];
                if (c != null) state[(l * s + 1) * per + i] = (float)c[l * per + i];
            }
        return state;
    }

    public static ParityFixture Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedFolder.Combine("fixtures", name)));
        var r = doc.RootElement;
        var cell = r.TryGetProperty("cell", out var ce) ? CellTypes.Parse(ce.GetString()!) : CellType.Elman;
        int layers = r.GetProperty("config").GetProperty("num_layers").GetInt32();
        bool lstm = cell == CellType.Lstm;
        var ex = r.GetProperty("expected");
        var hn = Flatten(ex.GetProperty("h_n")).ToArray();
        var cn = lstm ? Flatten(ex.GetProperty("c_n")).ToArray() : null;
        double[]? c0 = null;
        if (lstm && r.TryGetProperty("c0", out var c0e) && c0e.ValueKind != JsonValueKind.Null) c0 = Flatten(c0e).ToArray();
        var c = r.GetProperty("config");
        var input = r.GetProperty("input");
        var e = r.GetProperty("expected");
        var a = r.GetProperty("adamw");
        var h0 = r.GetProperty("h0");
        var h0v = h0.ValueKind == JsonValueKind.Null ? null : Flatten(h0).ToArray();
        // An LSTM case may give one of h0 and c0: the other is zeros.
        if (lstm && (h0v != null || c0 != null))
        {
            h0v ??= new double[c0!.Length];
            c0 ??= new double[h0v.Length];
        }
        return new ParityFixture
        {
            Name = r.GetProperty("name").GetString()!,
            Cell = cell,
            Vocab = c.GetProperty("vocab_size").GetInt32(),
            Emb = c.GetProperty("emb_dim").GetInt32(),
            Hidden = c.GetProperty("hidden_dim").GetInt32(),
            Layers = c.GetProperty("num_layers").GetInt32(),
            Pad = c.GetProperty("pad_index").GetInt32(),
            Batch = input.GetArrayLength(),
            Steps = input[0].GetArrayLength(),
            Input = Flatten(input).Select(v => (int)v).ToArray(),
            Target = Flatten(r.GetProperty("target")).Select(v => (int)v).ToArray(),
            H0 = h0v == null ? null : State(h0v, c0, layers),
            Params = Dict(r.GetProperty("params")),
            Grads = Dict(e.GetProperty("grads")),
            ParamsAfter = Dict(a.GetProperty("params_after")),
            Logits = Flatten(e.GetProperty("logits")).ToArray(),
            HN = State(hn, cn, layers).Select(v => (double)v).ToArray(),
            Loss = e.GetProperty("loss").GetDouble(),
            Lr = a.GetProperty("lr").GetDouble(),
            Beta1 = a.GetProperty("betas")[0].GetDouble(),
            Beta2 = a.GetProperty("betas")[1].GetDouble(),
            Eps = a.GetProperty("eps").GetDouble(),
            WeightDecay = a.GetProperty("weight_decay").GetDouble(),
            AdamSteps = a.GetProperty("steps").GetInt32(),
        };
    }

    private static Dictionary<string, double[]> Dict(JsonElement obj) =>
        obj.EnumerateObject().ToDictionary(p => p.Name, p => Flatten(p.Value).ToArray());

    private static IEnumerable<double> Flatten(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in e.EnumerateArray())
                foreach (var v in Flatten(item)) yield return v;
        }
        else yield return e.GetDouble();
    }
}
