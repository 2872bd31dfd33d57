using System.Globalization;
using RnnLm.Training;
using Spectre.Console;

namespace RnnLm.Cli;

/// <summary>
/// Shows a run's progress: a Spectre.Console progress bar with loss, tokens/s and ETA on a terminal, plain log
/// lines (every 10 seconds, and at each validation) when output goes to a file or pipe.
/// </summary>
public static class TrainingProgressView
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static T Run<T>(Func<Action<TrainingProgress>, T> train)
    {
        if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            T result = default!;
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: 1.0);
                    result = train(p =>
                    {
                        if (p.ValidLoss is double v)
                        {
                            AnsiConsole.MarkupLine(Markup.Escape(ValidLine(p)));
                            return;
                        }
                        task.Description = string.Format(Inv, "step {0} loss {1:F3} {2:F0} tok/s", p.Step, p.Loss, p.TokensPerSecond);
                        task.Value = p.Fraction;
                    });
                    task.Value = 1.0;
                });
            return result;
        }
        DateTime lastPrint = DateTime.MinValue;
        return train(p =>
        {
            if (p.ValidLoss is not null) { Console.WriteLine(ValidLine(p)); return; }
            if (DateTime.UtcNow - lastPrint < TimeSpan.FromSeconds(10)) return;
            lastPrint = DateTime.UtcNow;
            Console.WriteLine(string.Format(Inv, "step {0} epoch {1} batch {2}/{3} loss {4:F4} lr {5:G3} {6:F0} tok/s {7:F0}%",
                p.Step, p.Epoch + 1, p.BatchIndex, p.BatchesPerEpoch, p.Loss, p.LearningRate, p.TokensPerSecond, 100 * p.Fraction));
        });
    }

    private static string ValidLine(TrainingProgress p) =>
        string.Format(Inv, "step {0} valid_loss {1:F4} valid_ppl {2:F2}{3} ({4:F0} s)", p.Step, p.ValidLoss, p.ValidPerplexity,
            p.IsBest ? " best" : "", p.ElapsedSeconds);
}
