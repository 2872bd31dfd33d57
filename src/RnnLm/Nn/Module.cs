namespace RnnLm.Nn;

/// <summary>
/// A part of the model that owns parameters and child modules. Parameters are named as in PyTorch's
/// state_dict ("rnn.layers.0.Wh"), so weights can be exchanged with the book's code.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Parameter Parameter)> _parameters = new();
    private readonly List<(string Name, Module Module)> _children = new();

    /// <summary>True in training mode (dropout active), false in evaluation mode.</summary>
    public bool Training { get; private set; } = true;

    protected Parameter AddParameter(string name, Parameter parameter)
    {
        _parameters.Add((name, parameter));
        return parameter;
    }

    /// <summary>Adds a child; its parameters are named "name.child_name", or just "child_name" for an empty name.</summary>
    protected T AddModule<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    /// <summary>Every parameter of this module and its children, by state_dict name, in a fixed order.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters)
            yield return (prefix + name, p);
        foreach (var (name, m) in _children)
            foreach (var item in m.NamedParameters(name.Length == 0 ? prefix : prefix + name + "."))
                yield return item;
    }

    /// <summary>Every distinct parameter (a tied weight appears once, though it has two names).</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(x => x.Parameter).Distinct(ReferenceEqualityComparer.Instance).Cast<Parameter>();

    public long ParameterCount() => Parameters().Sum(p => (long)p.Length);

    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>Sets training (true) or evaluation (false) mode on this module and its children.</summary>
    public void Train(bool training = true)
    {
        Training = training;
        foreach (var (_, m) in _children) m.Train(training);
    }

    public void Eval() => Train(false);
}
