using System.Text.Json;

namespace RnnLm.Cli;

/// <summary>Draws training and validation loss over steps from a run's metrics.jsonl into a PNG (ScottPlot).</summary>
public static class LossPlot
{
    public static void Write(string metricsPath, string pngPath)
    {
        if (!File.Exists(metricsPath)) return;
        var trainX = new List<double>(); var trainY = new List<double>();
        var validX = new List<double>(); var validY = new List<double>();
        foreach (var line in File.ReadLines(metricsPath))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var e = doc.RootElement;
            double step = e.GetProperty("step").GetDouble();
            if (e.TryGetProperty("train_loss", out var t) && t.ValueKind == JsonValueKind.Number) { trainX.Add(step); trainY.Add(t.GetDouble()); }
            if (e.TryGetProperty("valid_loss", out var v) && v.ValueKind == JsonValueKind.Number) { validX.Add(step); validY.Add(v.GetDouble()); }
        }
        var plot = new ScottPlot.Plot();
        if (trainX.Count > 0) plot.Add.ScatterLine(trainX.ToArray(), trainY.ToArray()).LegendText = "training loss";
        if (validX.Count > 0)
        {
            var s = plot.Add.Scatter(validX.ToArray(), validY.ToArray());
            s.LegendText = "validation loss";
        }
        plot.XLabel("step");
        plot.YLabel("loss (nats per token)");
        plot.ShowLegend();
        string tmp = pngPath + ".tmp.png";
        plot.SavePng(tmp, 900, 500);
        File.Move(tmp, pngPath, overwrite: true);
    }
}
