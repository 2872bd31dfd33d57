namespace RnnLm.Data;

/// <summary>
/// Where training is in the data: the epoch and the index of the next batch to
/// process. Save it in a checkpoint and pass it back to
/// <see cref="DataLoader.Batches(LoaderPosition)"/> to resume.
/// </summary>
/// <param name="Epoch">Epoch number (0-based).</param>
/// <param name="BatchIndex">Index of the next batch to process in that epoch.</param>
public readonly record struct LoaderPosition(int Epoch, int BatchIndex)
{
    /// <summary>Writes the position.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(Epoch);
        writer.Write(BatchIndex);
    }

    /// <summary>Reads a position written by <see cref="Save"/>.</summary>
    public static LoaderPosition Load(BinaryReader reader)
    {
        int e = reader.ReadInt32(), k = reader.ReadInt32();
        if (e < 0 || k < 0) throw new InvalidDataException($"Corrupt loader position ({e}, {k}).");
        return new LoaderPosition(e, k);
    }
}
