namespace RnnLm.Interop;

/// <summary>
/// Compares a model's logits with the ones another framework computed for the same ids: a safetensors file with
/// "input_ids" [B, T] (I64 or I32, in the source vocabulary's ids) and "logits" [B, T, V] (float), each sequence
/// from a zero state. The ids are mapped through the import's id map, and each source column compared with its
/// RnnLm column.
/// </summary>
public static class LogitCheck
{
    public const string InputIds = "input_ids";
    public const string Logits = "logits";

    /// <summary>Reads the reference file and compares (see the class summary).</summary>
    /// <exception cref="InvalidDataException">The reference lacks a tensor, or its shapes or ids do not fit the model.</exception>
    public static LogitComparison Compare(LanguageModel lm, IReadOnlyList<int> idMap, string referencePath,
        double rtol = 1e-4, double atol = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(lm);
        ArgumentNullException.ThrowIfNull(idMap);
        var file = SafetensorsFile.Read(referencePath);
        var ids = file.Find(InputIds) ?? throw new InvalidDataException($"{referencePath}: no tensor '{InputIds}' [B, T].");
        var logits = file.Find(Logits) ?? throw new InvalidDataException($"{referencePath}: no tensor '{Logits}' [B, T, V].");
        if (ids.Shape.Length != 2 || ids.Shape[0] < 1 || ids.Shape[1] < 1)
            throw new InvalidDataException($"{referencePath}: tensor '{InputIds}' has shape {ids.ShapeText}; it must be [B, T], both positive.");
        int batch = checked((int)ids.Shape[0]), steps = checked((int)ids.Shape[1]), sourceVocab = idMap.Count, V = lm.Model.Config.VocabSize;
        if (logits.Shape.Length != 3 || logits.Shape[0] != batch || logits.Shape[1] != steps || logits.Shape[2] != sourceVocab)
            throw new InvalidDataException($"{referencePath}: tensor '{Logits}' has shape {logits.ShapeText}; the ids need [{batch}, {steps}, {sourceVocab}].");
        var source = ids.ToInt64(referencePath);
        var input = new int[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            if (source[i] < 0 || source[i] >= sourceVocab)
                throw new InvalidDataException($"{referencePath}: {InputIds}[{i / steps}, {i % steps}] = {source[i]} is outside the vocabulary [0, {sourceVocab}).");
            input[i] = idMap[(int)source[i]];
        }
        var expected = logits.ToFloat32(referencePath);
        var ours = new float[(long)batch * steps * V];
        lm.Model.Forward(input, batch, steps, ours);
        double maxAbs = 0, maxRel = 0, used = 0;
        long failures = 0;
        for (int row = 0; row < batch * steps; row++)
            for (int j = 0; j < sourceVocab; j++)
            {
                double want = expected[(long)row * sourceVocab + j], got = ours[(long)row * V + idMap[j]];
                double abs = Math.Abs(got - want);
                double allowed = atol + rtol * Math.Abs(want);
                if (!(abs <= allowed)) failures++;
                used = Math.Max(used, abs / allowed);
                maxAbs = Math.Max(maxAbs, abs);
                if (want != 0) maxRel = Math.Max(maxRel, abs / Math.Abs(want));
            }
        return new LogitComparison((long)batch * steps * sourceVocab, maxAbs, maxRel, used, failures, rtol, atol);
    }
}
