using System.Text.Json;
using RnnLm.Data;

namespace RnnLm.Interop;

/// <summary>
/// vocab.json: a JSON array of the token strings in id order, the padding token included (id i is the i-th string).
/// It is what a PyTorch user needs to turn ids into text, and what <see cref="SafetensorsImport"/> reads to build a
/// tokenizer for weights that PyTorch wrote.
/// </summary>
public static class VocabularyFile
{
    /// <summary>The name export gives it, beside the exported file.</summary>
    public const string FileName = "vocab.json";

    /// <summary>The tokens of a tokenizer in id order, as each prints alone ("&lt;pad&gt;" for id 0).</summary>
    public static string[] Tokens(Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var tokens = new string[tokenizer.VocabSize];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = tokenizer.TokenText(i);
        return tokens;
    }

    /// <summary>Writes the tokens as a JSON array (UTF-8, atomically).</summary>
    public static void Write(string path, IReadOnlyList<string> tokens, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(tokens, new JsonSerializerOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
        AtomicFile.Write(path, overwrite, s => s.Write(bytes));
    }

    /// <summary>Reads a JSON array of strings.</summary>
    /// <exception cref="InvalidDataException">The file is not a JSON array of strings (the message names it and the entry).</exception>
    public static string[] Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such vocabulary file.", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{path}: a vocabulary is a JSON array of token strings; this is a JSON {doc.RootElement.ValueKind}.");
            var tokens = new string[doc.RootElement.GetArrayLength()];
            int i = 0;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{path}: entry {i} is a JSON {e.ValueKind}; every token must be a string.");
                tokens[i++] = e.GetString()!;
            }
            if (tokens.Length == 0) throw new InvalidDataException($"{path}: the vocabulary is empty.");
            return tokens;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }
}
