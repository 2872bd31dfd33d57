using System.Collections;
using System.CommandLine;
using System.Globalization;

namespace RnnLm.Cli;

/// <summary>One option of a command's table: the option and, when it sets one, the library property it sets and how.</summary>
public sealed record Setting<TOptions>(Option Option, string? Property, Func<ParseResult, TOptions, TOptions>? Apply);

/// <summary>
/// A command's options, declared once and in the help's order: those that set a property of the library's options
/// record TOptions (their defaults taken from an instance of it, so the help's [default: ...] quotes the library), and
/// those the command reads apart (listed by name). Library errors that name a property can be reworded to name its
/// flag with <see cref="Flags"/> and <see cref="GenerationFlags.Map{T}(IReadOnlyDictionary{string, string}, Func{T})"/>.
/// </summary>
public sealed class OptionTable<TOptions> : IEnumerable<Setting<TOptions>>
{
    private readonly List<Setting<TOptions>> settings = [];

    /// <summary>An option the command reads apart.</summary>
    public void Add(Option option) => settings.Add(new(option, null, null));

    /// <summary>An option that sets property (nameof a TOptions property) through set, with the option's value (its default when not given).</summary>
    public void Add<T>(Option<T> option, string property, Func<TOptions, T, TOptions> set) =>
        settings.Add(new(option, property, (r, o) => set(o, r.GetValue(option)!)));

    /// <summary>A setting made apart, such as <see cref="Given{T}"/>'s.</summary>
    public void Add(Setting<TOptions> setting) => settings.Add(setting);

    /// <summary>
    /// An option with no default of its own (null: not given) that sets property through set only when given, so
    /// the value already there (a preset's, say) stands otherwise.
    /// </summary>
    public static Setting<TOptions> Given<T>(Option<T?> option, string property, Func<TOptions, T, TOptions> set) where T : struct =>
        new(option, property, (r, o) => r.GetValue(option) is T v ? set(o, v) : o);

    /// <summary>As <see cref="Given{T}"/>, for a text option.</summary>
    public static Setting<TOptions> Given(Option<string?> option, string property, Func<TOptions, string, TOptions> set) =>
        new(option, property, (r, o) => r.GetValue(option) is string v ? set(o, v) : o);

    /// <summary>The settings that set a library property.</summary>
    public IEnumerable<Setting<TOptions>> Bound => settings.Where(s => s.Property != null);

    /// <summary>The names of the properties the table sets (for the test that compares them with the library's defaults).</summary>
    public IEnumerable<string> Properties => Bound.Select(s => s.Property!);

    /// <summary>start with every bound option's value set on it, in the table's order.</summary>
    public TOptions Apply(ParseResult r, TOptions start)
    {
        foreach (var s in Bound) start = s.Apply!(r, start);
        return start;
    }

    /// <summary>The flag of each property the table sets.</summary>
    public Dictionary<string, string> Flags => Bound.ToDictionary(s => s.Property!, s => s.Option.Name);

    /// <summary>A command with every option of the table, in its order.</summary>
    public Command Command(string name, string description)
    {
        var cmd = new Command(name, description);
        foreach (var s in settings) cmd.Options.Add(s.Option);
        return cmd;
    }

    public IEnumerator<Setting<TOptions>> GetEnumerator() => settings.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Declaring options, and defaults as the help shows them.</summary>
public static class CliOption
{
    public static Option<T> Opt<T>(string flag, string description) => new(flag) { Description = description };

    /// <summary>An option with a default (normally a property of a library options instance), which the help shows as [default: ...].</summary>
    public static Option<T> Opt<T>(string flag, string description, T defaultValue) =>
        new(flag) { Description = description, DefaultValueFactory = _ => defaultValue };

    /// <summary>A default as the help shows it: invariant, shortest round-trip form.</summary>
    public static string Text(this double value) => value.ToString(CultureInfo.InvariantCulture);
    public static string Text(this float value) => value.ToString(CultureInfo.InvariantCulture);
}
