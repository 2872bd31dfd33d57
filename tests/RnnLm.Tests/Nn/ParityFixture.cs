using System.Text.Json;

namespace RnnLm.Tests.Nn;

/// <summary>One case of ../shared/fixtures/parity: weights, a batch and what PyTorch computed from them.</summary>
public sealed class ParityFixture
{
    public required string Name { get; init; }
    public int Vocab, Emb, Hidden, Layers, Pad, Batch, Steps;
    public required int[] Input, Target;
    public float[]? H0;
    public required Dictionary<string, double[]> Params, Grads, ParamsAfter;
    public required double[] Logits, HN;
    public double Loss;
    public double Lr, Beta1, Beta2, Eps, WeightDecay;
    public int AdamSteps;

    public static IEnumerable<string> Files() =>
        Directory.GetFiles(SharedFolder.Combine("fixtures", "parity"), "*.json").OrderBy(f => f, StringComparer.Ordinal);

    public static ParityFixture Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var r = doc.RootElement;
        var c = r.GetProperty("config");
        var input = r.GetProperty("input");
        var e = r.GetProperty("expected");
        var a = r.GetProperty("adamw");
        var h0 = r.GetProperty("h0");
        return new ParityFixture
        {
            Name = r.GetProperty("name").GetString()!,
            Vocab = c.GetProperty("vocab_size").GetInt32(),
            Emb = c.GetProperty("emb_dim").GetInt32(),
            Hidden = c.GetProperty("hidden_dim").GetInt32(),
            Layers = c.GetProperty("num_layers").GetInt32(),
            Pad = c.GetProperty("pad_index").GetInt32(),
            Batch = input.GetArrayLength(),
            Steps = input[0].GetArrayLength(),
            Input = Flatten(input).Select(v => (int)v).ToArray(),
            Target = Flatten(r.GetProperty("target")).Select(v => (int)v).ToArray(),
            H0 = h0.ValueKind == JsonValueKind.Null ? null : Flatten(h0).Select(v => (float)v).ToArray(),
            Params = Dict(r.GetProperty("params")),
            Grads = Dict(e.GetProperty("grads")),
            ParamsAfter = Dict(a.GetProperty("params_after")),
            Logits = Flatten(e.GetProperty("logits")).ToArray(),
            HN = Flatten(e.GetProperty("h_n")).ToArray(),
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
