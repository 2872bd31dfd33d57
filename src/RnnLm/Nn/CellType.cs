using System.Text.Json.Serialization;

namespace RnnLm.Nn;

/// <summary>The kind of recurrent layer. Written into checkpoints by name ("elman", "gru", "lstm").</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CellType>))]
public enum CellType
{
    /// <summary>The book's unit: h' = tanh(x·Wh + h·Uh + b).</summary>
    [JsonStringEnumMemberName("elman")] Elman,
    /// <summary>PyTorch's nn.GRU: gates r, z, n, with r applied to (W_hn h + b_hn).</summary>
    [JsonStringEnumMemberName("gru")] Gru,
    /// <summary>PyTorch's nn.LSTM: gates i, f, g, o and a cell state c beside h.</summary>
    [JsonStringEnumMemberName("lstm")] Lstm,
}

/// <summary>Names of the cells as the command line and checkpoints spell them.</summary>
public static class CellTypes
{
    public static readonly IReadOnlyList<string> Names = ["elman", "gru", "lstm"];

    public static string Name(this CellType cell) => cell switch
    {
        CellType.Elman => "elman",
        CellType.Gru => "gru",
        CellType.Lstm => "lstm",
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, "unknown cell type."),
    };

    /// <summary>Parses "elman", "gru" or "lstm"; otherwise an ArgumentException naming the value.</summary>
    public static CellType Parse(string name, string what = "cell") => name switch
    {
        "elman" => CellType.Elman,
        "gru" => CellType.Gru,
        "lstm" => CellType.Lstm,
        _ => throw new ArgumentException($"{what} must be elman, gru or lstm, got '{name}'.", what),
    };
}
