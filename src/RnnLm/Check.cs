namespace RnnLm;

/// <summary>Argument checks whose messages name the argument and its value.</summary>
internal static class Check
{
    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentException($"{name} must be positive, got {value}.", name);
    }

    public static void Positive(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value)) throw new ArgumentException($"{name} must be a positive finite number, got {value}.", name);
    }

    public static void NonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentException($"{name} must be a finite number of at least 0, got {value}.", name);
    }

    public static void Length<T>(ReadOnlySpan<T> span, long expected, string name)
    {
        if (span.Length != expected) throw new ArgumentException($"{name} has {span.Length} elements, expected {expected}.", name);
    }

    public static void Length<T>(Span<T> span, long expected, string name) => Length((ReadOnlySpan<T>)span, expected, name);

    public static void AtLeast<T>(ReadOnlySpan<T> span, long expected, string name)
    {
        if (span.Length < expected) throw new ArgumentException($"{name} has {span.Length} elements, needs at least {expected}.", name);
    }

    public static void AtLeast<T>(Span<T> span, long expected, string name) => AtLeast((ReadOnlySpan<T>)span, expected, name);
}
