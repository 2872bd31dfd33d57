using System.CommandLine;
using RnnLm.Training;

namespace RnnLm.Cli;

/// <summary>`rnnlm plot`: validation perplexity over training time, one line per run folder, into a PNG.</summary>
public static class PlotCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run folders (each with a metrics.jsonl).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "The PNG to write.", Required = true };
        var title = new Option<string>("--title") { Description = "Plot title.", DefaultValueFactory = _ => "validation perplexity" };
        var cmd = new Command("plot", "Plot validation perplexity over training time for one or more runs.") { runs, output, title };
        cmd.SetAction(r => Program.Guard(() =>
        {
            var plot = new ScottPlot.Plot();
            foreach (var dir in r.GetValue(runs)!)
            {
                string metrics = Path.Combine(dir, ModelDirectory.MetricsFile);
                if (!File.Exists(metrics)) throw new UsageException($"{dir} has no {ModelDirectory.MetricsFile}.");
                var valid = JsonlMetricsSink.Read(metrics).Where(m => m.ValidLoss != null).ToArray();
                double[] xs = [.. valid.Select(m => m.ElapsedSeconds / 60)], ys = [.. valid.Select(m => Math.Exp(m.ValidLoss!.Value))];
                if (xs.Length == 0) throw new UsageException($"{metrics} has no validation results.");
                plot.Add.Scatter(xs, ys).LegendText = Path.GetFileName(Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar));
            }
            plot.Title(r.GetValue(title)!);
            plot.XLabel("training time (minutes)");
            plot.YLabel("validation perplexity");
            plot.ShowLegend(ScottPlot.Alignment.UpperRight);
            string png = r.GetValue(output)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(png))!);
            plot.SavePng(png, 900, 500);
            Console.WriteLine(png);
            return 0;
        }));
        return cmd;
    }
}
