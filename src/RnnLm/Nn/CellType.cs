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

/// <summary>Names of the cells as the command line and checkpoints spell them: the enum's names in lower case.</summary>
public static class CellTypes
{
    public static string Name(this CellType cell) =>
        Enum.IsDefined(cell) ? cell.ToString().ToLowerInvariant() : throw new ArgumentOutOfRangeException(nameof(cell), cell, "unknown cell type.");

    /// <summary>Parses "elman", "gru" or "lstm"; otherwise an ArgumentException naming the value.</summary>
    public static CellType Parse(string name, string what = "cell")
    {
        foreach (var cell in Enum.GetValues<CellType>())
            if (cell.Name() == name) return cell;
        throw new ArgumentException($"{what} must be elman, gru or lstm, got '{name}'.", what);
    }
}
