namespace RnnLm.Interop;

/// <summary>
/// The names PyTorch models give RnnLm's parameters, so that an exported file loads with load_state_dict and no
/// renaming. The Elman layers are the book's ElmanRNN (../shared/bench/pytorch_reference.py), whose ModuleList is
/// "rnn_units": RnnLm's "rnn.layers.{l}.Wh" is "rnn.rnn_units.{l}.Wh". The GRU and LSTM layers already carry
/// nn.GRU's and nn.LSTM's names inside a module "rnn" ("rnn.weight_ih_l0"); embedding and head are the same in both.
/// </summary>
public static class PyTorchNames
{
    private const string Library = "rnn.layers.";
    private const string Book = "rnn.rnn_units.";

    /// <summary>The PyTorch name of a parameter of RnnLm.</summary>
    public static string FromLibrary(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.StartsWith(Library, StringComparison.Ordinal) ? Book + name[Library.Length..] : name;
    }

    /// <summary>RnnLm's name of a PyTorch parameter; RnnLm's own Elman names ("rnn.layers.0.Wh", as in the parity fixtures) are taken too.</summary>
    public static string ToLibrary(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.StartsWith(Book, StringComparison.Ordinal) ? Library + name[Book.Length..] : name;
    }
}
