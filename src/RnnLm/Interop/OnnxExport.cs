using System.Text.Json;
using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Interop;

/// <summary>
/// Writes a model as an ONNX graph (opset 14, IR version 8) that ONNX Runtime runs, whole sequences or one step at a
/// time. Inputs: "input_ids" int64 [batch, sequence] and every layer's state "h_{l}" (and "c_{l}" for LSTM), float
/// [1, batch, H]. Outputs: "logits" [batch, sequence, V] and the state after the last step, "h_{l}_out" (and
/// "c_{l}_out"), to feed back in. Nodes: Gather for the embedding, a Transpose to ONNX's time-major layout, per layer
/// ONNX's RNN (tanh), GRU (linear_before_reset=1, PyTorch's form) or LSTM with a Squeeze of its direction axis, a
/// Transpose back, then MatMul+Add for the projection (a tied head with hidden ≠ embedding) and for the head.
/// ONNX's gate orders differ from PyTorch's: GRU z, r, h (PyTorch r, z, n); LSTM i, o, f, c (PyTorch i, f, g, o).
/// Elman's h' = tanh(x·Wh + h·Uh + b) has Wh [in, H]: ONNX's W is Whᵀ, R is Uhᵀ, Wb is b and Rb is zero.
/// Metadata: the vocabulary ("rnnlm.vocab", a JSON array in id order) and the model config.
/// Dropout is a training-time operation and is not in the graph.
/// </summary>
public static class OnnxExport
{
    public const int Opset = 14;
    public const int IrVersion = 8;
    public const string InputIds = "input_ids";
    public const string Logits = "logits";

    /// <summary>The name of layer l's state input: "h_{l}" (hidden) or "c_{l}" (LSTM's cell); outputs add "_out".</summary>
    public static string StateName(char kind, int layer) => $"{kind}_{layer}";

    // onnx.proto's field numbers and enum values used here.
    private const int FloatType = 1, Int64Type = 7;
    private const int AttrInt = 2, AttrInts = 7;

    /// <summary>Writes the model to path atomically; an existing file is refused unless overwrite.</summary>
    /// <exception cref="IOException">The file exists (and overwrite is false), or cannot be written.</exception>
    public static void Write(LanguageModel lm, string path, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(lm);
        AtomicFile.RefuseExisting(Path.GetFullPath(path), path, overwrite);
        var bytes = ToBytes(lm);
        AtomicFile.Write(path, overwrite, s => s.Write(bytes));
    }

    /// <summary>The serialised ModelProto.</summary>
    public static byte[] ToBytes(LanguageModel lm)
    {
        ArgumentNullException.ThrowIfNull(lm);
        var model = lm.Model;
        var c = model.Config;
        int V = c.VocabSize, E = c.EmbDim, H = c.HiddenDim;
        var graph = new ProtoWriter();
        var nodes = new List<ProtoWriter>();
        var initializers = new List<ProtoWriter>();
        var inputs = new List<ProtoWriter> { ValueInfo(InputIds, Int64Type, ["batch", "sequence"]) };
        var outputs = new List<ProtoWriter> { ValueInfo(Logits, FloatType, ["batch", "sequence", V]) };

        initializers.Add(Tensor("embedding.weight", model.Embedding.Weight.Value.Data, V, E));
        initializers.Add(Int64Tensor("squeeze_axes", [1], 1));
        nodes.Add(Node("Gather", [("embedding.weight"), InputIds], ["embedded"]));
        nodes.Add(Node("Transpose", ["embedded"], ["x_0"], Ints("perm", 1, 0, 2)));
        string x = "x_0";
        for (int l = 0; l < c.NumLayers; l++)
        {
            var layer = model.Rnn.Layers[l];
            int inDim = layer.InputDim;
            var (op, gates, w, r, b) = OnnxWeights(layer);
            initializers.Add(Tensor($"W_{l}", w, 1, gates * H, inDim));
            initializers.Add(Tensor($"R_{l}", r, 1, gates * H, H));
            initializers.Add(Tensor($"B_{l}", b, 1, 2 * gates * H));
            string h = StateName('h', l), cs = StateName('c', l);
            inputs.Add(ValueInfo(h, FloatType, [1, "batch", H]));
            outputs.Add(ValueInfo(h + "_out", FloatType, [1, "batch", H]));
            var ins = new List<string> { x, $"W_{l}", $"R_{l}", $"B_{l}", "", h };
            var outs = new List<string> { $"y_{l}", h + "_out" };
            if (op == "LSTM")
            {
                inputs.Add(ValueInfo(cs, FloatType, [1, "batch", H]));
                outputs.Add(ValueInfo(cs + "_out", FloatType, [1, "batch", H]));
                ins.Add(cs);
                outs.Add(cs + "_out");
            }
            var attributes = new List<ProtoWriter> { Int("hidden_size", H) };
            if (op == "GRU") attributes.Add(Int("linear_before_reset", 1));
            nodes.Add(Node(op, ins, outs, [.. attributes]));
            nodes.Add(Node("Squeeze", [$"y_{l}", "squeeze_axes"], [$"x_{l + 1}"]));
            x = $"x_{l + 1}";
        }
        nodes.Add(Node("Transpose", [x], ["top"], Ints("perm", 1, 0, 2)));
        string headIn = "top";
        if (model.Proj is Linear proj)
        {
            initializers.Add(Tensor("proj.weight_t", Transpose(proj.Weight.Value.Data, proj.OutFeatures, proj.InFeatures), proj.InFeatures, proj.OutFeatures));
            initializers.Add(Tensor("proj.bias", proj.Bias.Value.Data, proj.OutFeatures));
            nodes.Add(Node("MatMul", ["top", "proj.weight_t"], ["projected_mm"]));
            nodes.Add(Node("Add", ["projected_mm", "proj.bias"], ["projected"]));
            headIn = "projected";
        }
        var fc = model.Fc;
        initializers.Add(Tensor("fc.weight_t", Transpose(fc.Weight.Value.Data, fc.OutFeatures, fc.InFeatures), fc.InFeatures, fc.OutFeatures));
        initializers.Add(Tensor("fc.bias", fc.Bias.Value.Data, fc.OutFeatures));
        nodes.Add(Node("MatMul", [headIn, "fc.weight_t"], ["logits_mm"]));
        nodes.Add(Node("Add", ["logits_mm", "fc.bias"], [Logits]));

        // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
        foreach (var n in nodes) graph.Message(1, n);
        graph.String(2, "rnnlm");
        foreach (var t in initializers) graph.Message(5, t);
        foreach (var i in inputs) graph.Message(11, i);
        foreach (var o in outputs) graph.Message(12, o);

        // ModelProto: ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7, opset_import 8, metadata_props 14.
        var m = new ProtoWriter()
            .Int64(1, IrVersion)
            .String(2, "RnnLm")
            .String(3, typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "0")
            .String(6, $"A {c.Cell.Name()} language model of {c.NumLayers} layers exported by RnnLm; run it step by step by feeding the *_out states back in.")
            .Message(7, graph)
            .Message(8, o => o.String(1, "").Int64(2, Opset));
        m.Message(14, e => e.String(1, "rnnlm.vocab").String(2, JsonSerializer.Serialize(VocabularyFile.Tokens(lm.Tokenizer))));
        m.Message(14, e => e.String(1, "rnnlm.config").String(2, JsonSerializer.Serialize(c, Checkpoint.JsonOptions)));
        return m.ToArray();
    }

    /// <summary>A layer's ONNX operator and its W [G·H, in], R [G·H, H] and B [2·G·H] in ONNX's gate order.</summary>
    private static (string Op, int Gates, float[] W, float[] R, float[] B) OnnxWeights(RecurrentLayer layer)
    {
        int H = layer.HiddenDim, inDim = layer.InputDim;
        switch (layer)
        {
            case ElmanRnnUnit e:
                var b = new float[2 * H];
                e.Bias.Value.Data.CopyTo(b, 0);
                return ("RNN", 1, Transpose(e.Wh.Value.Data, inDim, H), Transpose(e.Uh.Value.Data, H, H), b);
            case GatedRecurrentLayer g:
                // PyTorch's blocks in ONNX's order: GRU [z, r, n] = PyTorch's [1, 0, 2]; LSTM [i, o, f, g] = [0, 3, 1, 2].
                int[] order = layer.Cell == CellType.Gru ? [1, 0, 2] : [0, 3, 1, 2];
                var bias = Reorder(g.BiasIh.Value.Data, order, H).Concat(Reorder(g.BiasHh.Value.Data, order, H)).ToArray();
                return (layer.Cell == CellType.Gru ? "GRU" : "LSTM", order.Length,
                    Reorder(g.WeightIh.Value.Data, order, H * inDim), Reorder(g.WeightHh.Value.Data, order, H * H), bias);
            default:
                throw new NotSupportedException($"no ONNX operator for the {layer.Cell.Name()} cell.");
        }
    }

    private static float[] Reorder(float[] blocks, int[] order, int blockLength)
    {
        var result = new float[blocks.Length];
        for (int k = 0; k < order.Length; k++)
            blocks.AsSpan(order[k] * blockLength, blockLength).CopyTo(result.AsSpan(k * blockLength, blockLength));
        return result;
    }

    /// <summary>The transpose of a row-major [rows, cols] matrix.</summary>
    private static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                t[j * rows + i] = a[i * cols + j];
        return t;
    }

    // TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian).
    private static ProtoWriter Tensor(string name, float[] values, params long[] dims)
    {
        var t = new ProtoWriter();
        foreach (long d in dims) t.Int64(1, d);
        t.Int64(2, FloatType).String(8, name);
        var raw = SafetensorsTensor.FromFloats(name, values, values.Length).Data;
        return t.Bytes(9, raw);
    }

    private static ProtoWriter Int64Tensor(string name, long[] values, params long[] dims)
    {
        var t = new ProtoWriter();
        foreach (long d in dims) t.Int64(1, d);
        t.Int64(2, Int64Type).String(8, name);
        return t.Bytes(9, SafetensorsTensor.FromInt64(name, values, values.Length).Data);
    }

    // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
    private static ProtoWriter Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, params ProtoWriter[] attributes)
    {
        var n = new ProtoWriter();
        foreach (var i in inputs) n.String(1, i);
        var outs = outputs.ToList();
        foreach (var o in outs) n.String(2, o);
        n.String(3, op + ":" + outs[0]).String(4, op);
        foreach (var a in attributes) n.Message(5, a);
        return n;
    }

    // AttributeProto: name 1, i 3, ints 8, type 20.
    private static ProtoWriter Int(string name, long value) => new ProtoWriter().String(1, name).Int64(3, value).Int64(20, AttrInt);

    private static ProtoWriter Ints(string name, params long[] values)
    {
        var a = new ProtoWriter().String(1, name);
        foreach (long v in values) a.Int64(8, v);
        return a.Int64(20, AttrInts);
    }

    // ValueInfoProto: name 1, type 2. TypeProto: tensor_type 1. TypeProto.Tensor: elem_type 1, shape 2.
    // TensorShapeProto: dim 1. Dimension: dim_value 1, dim_param 2.
    private static ProtoWriter ValueInfo(string name, int elemType, object[] dims) =>
        new ProtoWriter().String(1, name).Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int64(1, elemType);
            tensor.Message(2, shape =>
            {
                foreach (var d in dims)
                    shape.Message(1, dim => { if (d is string p) dim.String(2, p); else dim.Int64(1, Convert.ToInt64(d)); });
            });
        }));
}
