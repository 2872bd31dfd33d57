using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RnnLm.Server;

/// <summary>
/// A JSON request body read strictly: at most the configured size, an object, only the fields the endpoint knows,
/// each of its type and range; every refusal is a <see cref="RequestException"/> naming the field.
/// </summary>
public sealed class JsonRequest
{
    private readonly Dictionary<string, JsonElement> _fields;

    private JsonRequest(Dictionary<string, JsonElement> fields) => _fields = fields;

    /// <summary>Reads and parses the body; allowed: the field names this endpoint takes.</summary>
    public static async Task<JsonRequest> ReadAsync(HttpRequest request, int maxBytes, IReadOnlySet<string> allowed, CancellationToken cancel)
    {
        if (request.ContentLength > maxBytes)
            throw new RequestException(StatusCodes.Status413PayloadTooLarge, $"the body has {request.ContentLength} bytes; the limit is {maxBytes}.");
        if (request.ContentType is string type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw new RequestException(StatusCodes.Status415UnsupportedMediaType, $"the body must be application/json, got '{type}'.");
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, cancel)) > 0)
        {
            if (buffer.Length + n > maxBytes)
                throw new RequestException(StatusCodes.Status413PayloadTooLarge, $"the body is larger than the limit of {maxBytes} bytes.");
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length == 0) throw new RequestException(StatusCodes.Status400BadRequest, "the body is empty; send a JSON object.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new RequestException(StatusCodes.Status400BadRequest, $"the body is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new RequestException(StatusCodes.Status400BadRequest, $"the body must be a JSON object, got {Kind(doc.RootElement)}.");
            var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!allowed.Contains(p.Name))
                    throw new RequestException(StatusCodes.Status400BadRequest,
                        $"unknown field '{p.Name}'; this endpoint takes {string.Join(", ", allowed.Order(StringComparer.Ordinal))}.", p.Name);
                if (!fields.TryAdd(p.Name, p.Value.Clone()))
                    throw new RequestException(StatusCodes.Status400BadRequest, $"the field '{p.Name}' appears twice.", p.Name);
            }
            return new JsonRequest(fields);
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object", JsonValueKind.Array => "an array", JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number", JsonValueKind.True or JsonValueKind.False => "a boolean", _ => "null",
    };

    private static RequestException Bad(string field, string message) =>
        new(StatusCodes.Status400BadRequest, $"{field} {message}", field.Split('[')[0]);

    private bool TryGet(string field, out JsonElement e) => _fields.TryGetValue(field, out e) && e.ValueKind != JsonValueKind.Null;

    public bool Has(string field) => TryGet(field, out _);

    public string? String(string field, bool required = false, int maxLength = int.MaxValue)
    {
        if (!TryGet(field, out var e))
            return required ? throw Bad(field, "is required (a string).") : null;
        if (e.ValueKind != JsonValueKind.String) throw Bad(field, $"must be a string, got {Kind(e)}.");
        string s = e.GetString()!;
        if (s.Length > maxLength) throw Bad(field, $"has {s.Length} characters; the limit is {maxLength}.");
        return s;
    }

    public int? Int(string field, int min, int max)
    {
        if (!TryGet(field, out var e)) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v)) throw Bad(field, $"must be an integer, got {Describe(e)}.");
        if (v < min || v > max) throw Bad(field, $"must be in [{min}, {max}], got {v}.");
        return (int)v;
    }

    public ulong? UInt64(string field)
    {
        if (!TryGet(field, out var e)) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetUInt64(out ulong v)) throw Bad(field, $"must be an integer of 0 or more, got {Describe(e)}.");
        return v;
    }

    public float? Number(string field)
    {
        if (!TryGet(field, out var e)) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v) || Math.Abs(v) > float.MaxValue)
            throw Bad(field, $"must be a number, got {Describe(e)}.");
        return (float)v;
    }

    public bool? Bool(string field)
    {
        if (!TryGet(field, out var e)) return null;
        if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Bad(field, $"must be true or false, got {Describe(e)}.");
        return e.GetBoolean();
    }

    /// <summary>A string or a list of strings (a single string is a list of one).</summary>
    public IReadOnlyList<string>? Strings(string field, int maxCount, int maxLength)
    {
        if (!TryGet(field, out var e)) return null;
        if (e.ValueKind == JsonValueKind.String) return [String(field, maxLength: maxLength)!];
        if (e.ValueKind != JsonValueKind.Array) throw Bad(field, $"must be a string or a list of strings, got {Kind(e)}.");
        if (e.GetArrayLength() > maxCount) throw Bad(field, $"has {e.GetArrayLength()} entries; the limit is {maxCount}.");
        var list = new List<string>();
        int i = 0;
        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Bad($"{field}[{i}]", $"must be a string, got {Kind(item)}.");
            string s = item.GetString()!;
            if (s.Length == 0) throw Bad($"{field}[{i}]", $"is empty; a stop sequence needs at least one character.");
            if (s.Length > maxLength) throw Bad($"{field}[{i}]", $"has {s.Length} characters; the limit is {maxLength}.");
            list.Add(s);
            i++;
        }
        return list;
    }

    private static string Describe(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetRawText() : Kind(e);
}
