using RnnLm.Training;

namespace RnnLm.Cli;

/// <summary>Draws training and validation loss over steps from a run's metrics.jsonl into a PNG (ScottPlot).</summary>
public static class LossPlot
{
    public static void Write(string metricsPath, string pngPath)
    {
        if (!File.Exists(metricsPath)) return;
        var records = JsonlMetricsSink.Read(metricsPath);
        var train = records.Where(m => m.TrainLoss != null).ToArray();
        var valid = records.Where(m => m.ValidLoss != null).ToArray();
        double[] trainX = [.. train.Select(m => (double)m.Step)], trainY = [.. train.Select(m => m.TrainLoss!.Value)];
        double[] validX = [.. valid.Select(m => (double)m.Step)], validY = [.. valid.Select(m => m.ValidLoss!.Value)];
        var plot = new ScottPlot.Plot();
        if (trainX.Length > 0) plot.Add.ScatterLine(trainX, trainY).LegendText = "training loss";
        if (validX.Length > 0) plot.Add.Scatter(validX, validY).LegendText = "validation loss";
        plot.XLabel("step");
        plot.YLabel("loss (nats per token)");
        plot.ShowLegend();
        string tmp = pngPath + ".tmp.png";
        plot.SavePng(tmp, 900, 500);
        File.Move(tmp, pngPath, overwrite: true);
    }
}
