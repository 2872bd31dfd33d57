using System.Text.Json;

namespace RnnLm.Training;

/// <summary>
/// Appends each record to a run folder's metrics.jsonl, one JSON object per line ("kind": "train" or "valid"), as
/// the loss plot and scripts read it. Seconds are rounded to 0.01 and the training loss to 5 decimals.
/// </summary>
public sealed class JsonlMetricsSink : IMetricsSink
{
    private readonly string _dir;

    /// <summary>Writes <see cref="ModelDirectory.MetricsFile"/> in the run folder dir.</summary>
    public JsonlMetricsSink(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        _dir = dir;
    }

    public string FilePath => Path.Combine(_dir, ModelDirectory.MetricsFile);

    /// <summary>Cuts the file back to the checkpoint's step (<see cref="ModelDirectory.CutMetricsTo"/>).</summary>
    public void ResumeAt(long step) => ModelDirectory.CutMetricsTo(_dir, step);

    public void Write(TrainMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        Append(new Dictionary<string, object?>
        {
            ["kind"] = "train",
            ["step"] = metrics.Step,
            ["epoch"] = metrics.Epoch,
            ["elapsed_s"] = Math.Round(metrics.ElapsedSeconds, 2),
            ["tokens"] = metrics.Tokens,
            ["lr"] = metrics.LearningRate,
            ["train_loss"] = Math.Round(metrics.TrainLoss, 5),
        });
    }

    public void Write(ValidationMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var line = new Dictionary<string, object?>
        {
            ["kind"] = "valid",
            ["step"] = metrics.Step,
            ["epoch"] = metrics.Epoch,
            ["elapsed_s"] = Math.Round(metrics.ElapsedSeconds, 2),
            ["tokens"] = metrics.Tokens,
            ["lr"] = metrics.LearningRate,
            ["valid_loss"] = metrics.ValidLoss,
            ["valid_ppl"] = metrics.ValidLoss is double v ? Math.Exp(v) : null,
            ["best"] = metrics.IsBest,
        };
        if (metrics.AveragedSteps is long n)
        {
            line["averaged_steps"] = n;
            line["valid_ppl_trained"] = metrics.ValidLossTrained is double vt ? Math.Exp(vt) : null;
            line["valid_ppl_averaged"] = metrics.ValidLossAveraged is double va ? Math.Exp(va) : null;
        }
        Append(line);
    }

    /// <summary>
    /// The records of a metrics.jsonl that this sink wrote, in file order (blank lines skipped), for plots and scripts.
    /// </summary>
    /// <exception cref="InvalidDataException">A line is not a JSON object with a numeric step (the message names the line).</exception>
    public static IReadOnlyList<MetricsRecord> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var records = new List<MetricsRecord>();
        int number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var e = doc.RootElement;
                if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("step", out var step) || !step.TryGetInt64(out long s))
                    throw new InvalidDataException($"{path}, line {number}: not a metrics record (no numeric \"step\").");
                records.Add(new MetricsRecord(s, Number(e, "elapsed_s") ?? 0, Number(e, "train_loss"), Number(e, "valid_loss")));
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{path}, line {number}: not JSON ({ex.Message})", ex);
            }
        }
        return records;
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private void Append(Dictionary<string, object?> line)
    {
        Directory.CreateDirectory(_dir);
        File.AppendAllText(FilePath, JsonSerializer.Serialize(line) + "\n");
    }
}

/// <summary>One line of metrics.jsonl as read back: a training record has TrainLoss, a validation record ValidLoss.</summary>
public sealed record MetricsRecord(long Step, double ElapsedSeconds, double? TrainLoss, double? ValidLoss);
