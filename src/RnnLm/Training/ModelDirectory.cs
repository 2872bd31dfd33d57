namespace RnnLm.Training;

/// <summary>The files of a training run's output folder.</summary>
public static class ModelDirectory
{
    /// <summary>The latest state, for --resume.</summary>
    public const string LastFile = "last.ckpt";
    /// <summary>The weights with the best validation loss so far.</summary>
    public const string BestFile = "best.ckpt";
    public const string MetricsFile = "metrics.jsonl";
    public const string PlotFile = "loss.png";
    /// <summary>A stream run's training text as token ids, written once and memory-mapped.</summary>
    public const string TrainIdsFile = "train.ids";

    /// <summary>
    /// Readies a folder for a new run: refuses one that holds a run (its last.ckpt) unless <paramref name="force"/>,
    /// and with force removes the old run's metrics (its checkpoints are replaced atomically when first saved).
    /// </summary>
    /// <exception cref="IOException">The folder holds a run and force is false, or it cannot be written.</exception>
    public static void PrepareNewRun(string dir, bool force)
    {
        EnsureWritable(dir);
        if (!File.Exists(Path.Combine(dir, LastFile))) return;
        if (!force) throw new IOException($"{dir} already holds a run ({LastFile}); resume it, or force a new run over it.");
        string metrics = Path.Combine(dir, MetricsFile);
        if (File.Exists(metrics)) File.Delete(metrics);
    }

    /// <summary>
    /// Makes sure a run's output folder can be created and written, before any work starts: creates it if needed and
    /// writes and removes a probe file. Throws an IOException that says what is wrong (a file in the way, no such
    /// parent, no permission, a file system that takes no files).
    /// </summary>
    public static void EnsureWritable(string dir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        string full = Path.GetFullPath(dir);
        if (File.Exists(full)) throw new IOException($"the output folder '{dir}' is a file, not a folder.");
        for (var parent = Path.GetDirectoryName(full); parent != null; parent = Path.GetDirectoryName(parent))
        {
            if (Directory.Exists(parent)) break;
            if (File.Exists(parent)) throw new IOException($"the output folder '{dir}' cannot be created: '{parent}' is a file.");
        }
        string probe = Path.Combine(full, $".rnnlm-write-test.{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(full);
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e is UnauthorizedAccessException ? "permission denied" : e.Message;
            throw new IOException($"the output folder '{dir}' cannot be written: {why}", e);
        }
    }

    /// <summary>Removes the temporary files of checkpoint writes that a kill interrupted (".last.ckpt.PID.tmp").</summary>
    public static void RemoveStaleTemporaryFiles(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var name in new[] { LastFile, BestFile })
            foreach (var tmp in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
                File.Delete(tmp);
    }

    /// <summary>
    /// Before a run resumes from its last checkpoint: cuts metrics.jsonl back to the checkpoint's step, so the steps
    /// trained again after the resume are not listed twice. A line cut short by the kill is dropped too.
    /// </summary>
    public static void CutMetricsTo(string dir, long checkpointStep)
    {
        string metrics = Path.Combine(dir, MetricsFile);
        if (!File.Exists(metrics)) return;
        var kept = new List<string>();
        bool cut = false;
        foreach (var line in File.ReadLines(metrics))
        {
            long? step = null;
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out long v)) step = v;
            }
            catch (System.Text.Json.JsonException) { }
            if (step is long st && st <= checkpointStep) kept.Add(line);
            else cut = true;
        }
        if (!cut) return;
        string tmpMetrics = Path.Combine(dir, $".{MetricsFile}.{Environment.ProcessId}.tmp");
        File.WriteAllLines(tmpMetrics, kept);
        File.Move(tmpMetrics, metrics, overwrite: true);
    }

    /// <summary>The checkpoint to use from a folder: best.ckpt if there is one, else last.ckpt.</summary>
    public static string CheckpointIn(string dir)
    {
        string best = Path.Combine(dir, BestFile);
        return File.Exists(best) ? best : Path.Combine(dir, LastFile);
    }
}
