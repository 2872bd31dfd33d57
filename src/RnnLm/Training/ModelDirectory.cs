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

    /// <summary>The checkpoint to use from a folder: best.ckpt if there is one, else last.ckpt.</summary>
    public static string CheckpointIn(string dir)
    {
        string best = Path.Combine(dir, BestFile);
        return File.Exists(best) ? best : Path.Combine(dir, LastFile);
    }
}
