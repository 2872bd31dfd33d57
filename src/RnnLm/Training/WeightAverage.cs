using System.Numerics.Tensors;
using RnnLm.Nn;

namespace RnnLm.Training;

/// <summary>
/// The running mean of a model's weights over the steps it is given (Polyak averaging, as in AWD-LSTM's averaged
/// SGD, here over the last part of a run). Swap it into the model to evaluate or save it, then swap the trained
/// weights back to go on training. Buffers are allocated once; adding a step allocates nothing.
/// </summary>
public sealed class WeightAverage
{
    /// <summary>Prefix of the averaged tensors' names in a checkpoint ("average/rnn.layers.0.Wh").</summary>
    public const string NamePrefix = "average/";

    private readonly (string Name, Parameter Parameter)[] _parameters;
    private readonly float[][] _mean, _saved;
    private bool _swapped;

    /// <summary>Number of weight vectors averaged so far.</summary>
    public long Count { get; private set; }

    public WeightAverage(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        // A tied weight has two names; average it once, under its first name.
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        _parameters = model.NamedParameters().Where(p => seen.Add(p.Parameter)).ToArray();
        _mean = _parameters.Select(p => new float[p.Parameter.Length]).ToArray();
        _saved = _parameters.Select(p => new float[p.Parameter.Length]).ToArray();
    }

    /// <summary>Adds the model's current weights: mean ← mean + (w − mean) / n.</summary>
    public void Add()
    {
        if (_swapped) throw new InvalidOperationException("the average is swapped in; swap the trained weights back first.");
        Count++;
        float keep = (float)((Count - 1) / (double)Count), take = (float)(1.0 / Count);
        for (int i = 0; i < _parameters.Length; i++)
        {
            var w = _parameters[i].Parameter.Value.Data;
            // mean·(n−1)/n + w/n; the first step copies w exactly.
            TensorPrimitives.Multiply(_mean[i], keep, _mean[i]);
            TensorPrimitives.MultiplyAdd(w, take, _mean[i], _mean[i]);
        }
    }

    /// <summary>Puts the averaged weights into the model, keeping the trained ones aside.</summary>
    public void SwapIn()
    {
        if (_swapped) throw new InvalidOperationException("the average is already swapped in.");
        if (Count == 0) throw new InvalidOperationException("nothing has been averaged yet.");
        for (int i = 0; i < _parameters.Length; i++)
        {
            var w = _parameters[i].Parameter.Value.Data;
            w.CopyTo(_saved[i], 0);
            _mean[i].CopyTo(w, 0);
        }
        _swapped = true;
    }

    /// <summary>Restores the trained weights after SwapIn.</summary>
    public void SwapOut()
    {
        if (!_swapped) throw new InvalidOperationException("the average is not swapped in.");
        for (int i = 0; i < _parameters.Length; i++) _saved[i].CopyTo(_parameters[i].Parameter.Value.Data, 0);
        _swapped = false;
    }

    /// <summary>Runs action with the averaged weights in the model, then puts the trained weights back.</summary>
    public T WithAverage<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        SwapIn();
        try { return action(); }
        finally { SwapOut(); }
    }

    /// <summary>The averaged tensors by checkpoint name (NamePrefix + parameter name), copied.</summary>
    public IEnumerable<KeyValuePair<string, float[]>> Tensors() =>
        _parameters.Select((p, i) => new KeyValuePair<string, float[]>(NamePrefix + p.Name, (float[])_mean[i].Clone()));

    /// <summary>Restores a saved average (from Tensors and Count) when resuming a run.</summary>
    public void Restore(IReadOnlyDictionary<string, float[]> tensors, long count)
    {
        if (count < 0) throw new InvalidDataException($"the checkpoint averaged {count} steps.");
        if (count == 0) { Count = 0; return; }
        for (int i = 0; i < _parameters.Length; i++)
        {
            string name = NamePrefix + _parameters[i].Name;
            if (!tensors.TryGetValue(name, out var values))
                throw new InvalidDataException($"the checkpoint averaged {count} steps but has no tensor '{name}'.");
            if (values.Length != _mean[i].Length)
                throw new InvalidDataException($"tensor '{name}' has {values.Length} values, the model needs {_mean[i].Length}.");
            values.CopyTo(_mean[i], 0);
        }
        Count = count;
    }
}
