using RnnLm.Tensors;

namespace RnnLm.Server;

/// <summary>
/// The models a server offers, by name; the first added is the default (requests without "model"). The registry
/// owns the models and disposes them. Models are shared read-only by all requests (see <see cref="LanguageModel"/>).
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    private readonly Dictionary<string, LanguageModel> _models = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];

    /// <summary>Adds a model under a name (letters, digits, '.', '-', '_').</summary>
    /// <exception cref="ArgumentException">The name is empty, has other characters, or is taken.</exception>
    public void Add(string name, LanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (string.IsNullOrEmpty(name) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new ArgumentException($"a model name must be letters, digits, '.', '-' or '_', got '{name}'.", nameof(name));
        if (!_models.TryAdd(name, model)) throw new ArgumentException($"there is already a model named '{name}'.", nameof(name));
        _names.Add(name);
    }

    /// <summary>
    /// Loads each folder or checkpoint, named after its folder (or file name without extension), suffixed -2, -3 when taken;
    /// precision: how each head's weights are stored for inference (<see cref="LanguageModel.Load"/>).
    /// </summary>
    public static ModelRegistry Load(IEnumerable<string> paths, Precision precision = Precision.F32)
    {
        var registry = new ModelRegistry();
        try
        {
            foreach (var path in paths)
            {
                string full = Path.GetFullPath(path);
                string name = Directory.Exists(full) ? Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)) : Path.GetFileNameWithoutExtension(full);
                name = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray());
                if (name.Length == 0) name = "model";
                string unique = name;
                for (int i = 2; registry._models.ContainsKey(unique); i++) unique = $"{name}-{i}";
                registry.Add(unique, LanguageModel.Load(path, precision: precision));
            }
        }
        catch
        {
            registry.Dispose();
            throw;
        }
        return registry;
    }

    public IReadOnlyList<string> Names => _names;
    public string DefaultName => _names.Count > 0 ? _names[0] : throw new InvalidOperationException("the registry has no model.");
    public bool TryGet(string name, out LanguageModel model) => _models.TryGetValue(name, out model!);

    public void Dispose()
    {
        foreach (var m in _models.Values) m.Dispose();
        _models.Clear();
    }
}
