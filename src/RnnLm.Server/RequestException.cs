namespace RnnLm.Server;

/// <summary>A request the endpoints refuse: the HTTP status, a message, and the JSON field at fault (null: the body as a whole).</summary>
public sealed class RequestException(int status, string message, string? field = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Field { get; } = field;
}
