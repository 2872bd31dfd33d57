using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RnnLm.Interop;
using RnnLm.Nn;
using RnnLm.Tests.Cli;
using Xunit.Abstractions;
using InferenceSession = Microsoft.ML.OnnxRuntime.InferenceSession;

namespace RnnLm.Tests.Interop;

/// <summary>
/// The ONNX export run by ONNX Runtime: its logits match RnnLm's (rtol 1e-4, atol 1e-5) over whole sequences from
/// a zero state and from a given one, and step by step with the state fed back, for every cell; the next state it
/// returns is RnnLm's; the file is written whole or not at all.
/// </summary>
public class OnnxExportTests(ITestOutputHelper output)
{
    private const double Rtol = 1e-4, Atol = 1e-5;
    private double _maxAbs, _maxRel;

    private void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double abs = Math.Abs(expected[i] - actual[i]);
            Assert.True(abs <= Atol + Rtol * Math.Abs(expected[i]), $"{what}[{i}]: RnnLm {expected[i]}, ONNX Runtime {actual[i]}");
            _maxAbs = Math.Max(_maxAbs, abs);
            if (expected[i] != 0) _maxRel = Math.Max(_maxRel, abs / Math.Abs(expected[i]));
        }
    }

    /// <summary>Runs the session on ids [B, T] from the state [L, S, B, H] (RnnLm's layout); returns logits and the next state.</summary>
    private static (float[] Logits, float[] State) Run(InferenceSession session, LanguageModel lm, int[] ids, int batch, int steps, float[] state)
    {
        var c = lm.Model.Config;
        int S = c.Cell == CellType.Lstm ? 2 : 1, H = c.HiddenDim, per = batch * H;
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(OnnxExport.InputIds, new DenseTensor<long>(ids.Select(i => (long)i).ToArray(), [batch, steps])),
        };
        for (int l = 0; l < c.NumLayers; l++)
            for (int s = 0; s < S; s++)
                inputs.Add(NamedOnnxValue.CreateFromTensor(OnnxExport.StateName(s == 0 ? 'h' : 'c', l),
                    new DenseTensor<float>(state.AsSpan((l * S + s) * per, per).ToArray(), [1, batch, H])));
        using var results = session.Run(inputs);
        var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
        var next = new float[state.Length];
        for (int l = 0; l < c.NumLayers; l++)
            for (int s = 0; s < S; s++)
                byName[OnnxExport.StateName(s == 0 ? 'h' : 'c', l) + "_out"].CopyTo(next, (l * S + s) * per);
        return (byName[OnnxExport.Logits], next);
    }

    public static IEnumerable<object[]> Models() =>
    [
        [CellType.Elman, false, 7], [CellType.Gru, false, 7], [CellType.Lstm, false, 7], [CellType.Lstm, true, 8], [CellType.Elman, true, 8],
        [CellType.Elman, false, 128], [CellType.Gru, false, 128], [CellType.Lstm, false, 128],
    ];

    [Theory]
    [MemberData(nameof(Models))]
    public void OnnxRuntimeGivesRnnLmsLogitsOverASequenceAndStepByStep(CellType cell, bool tie, int hidden)
    {
        using var lm = InteropModels.Random(cell, layers: 2, emb: hidden > 8 ? 64 : 6, hidden: hidden, tie: tie);
        using var session = new InferenceSession(OnnxExport.ToBytes(lm));
        int V = lm.Model.Config.VocabSize, B = 3, T = 11, stateLength = lm.Model.StateLength(B);
        var ids = InteropModels.Ids(V, B, T);

        // A whole sequence from a zero state.
        var zero = new float[stateLength];
        var rnnlmState = new float[stateLength];
        var expected = new float[B * T * V];
        lm.Model.Forward(ids, B, T, expected, default, rnnlmState);
        var (logits, state) = Run(session, lm, ids, B, T, zero);
        Close(expected, logits, "logits");
        Close(rnnlmState, state, "state");

        // From that state, one more sequence: the state goes in as well as out.
        var ids2 = InteropModels.Ids(V, B, 4, seed: 99);
        var expected2 = new float[B * 4 * V];
        lm.Model.Forward(ids2, B, 4, expected2, rnnlmState);
        Close(expected2, Run(session, lm, ids2, B, 4, state).Logits, "logits from a state");

        // Step by step, the state fed back, against RnnLm's Step.
        var stepState = new float[stateLength];
        var onnxState = new float[stateLength];
        var stepLogits = new float[B * V];
        for (int t = 0; t < T; t++)
        {
            var tokens = Enumerable.Range(0, B).Select(b => ids[b * T + t]).ToArray();
            lm.Model.Step(tokens, stepState, stepLogits);
            (var onnxLogits, onnxState) = Run(session, lm, tokens, B, 1, onnxState);
            Close(stepLogits, onnxLogits, $"step {t} logits");
        }
        Close(stepState, onnxState, "state after the steps");
        output.WriteLine($"{cell.Name()} hidden {hidden}{(tie ? " tied" : "")}: max abs diff {_maxAbs:E2}, max rel diff {_maxRel:E2} " +
            "(logits and states: the sequence, the sequence from a state, the steps)");
    }

    [Fact]
    public void TheGraphDeclaresItsInputsOutputsAndVocabulary()
    {
        using var lm = InteropModels.Random(CellType.Lstm, layers: 2);
        using var session = new InferenceSession(OnnxExport.ToBytes(lm));
        Assert.Equal(["input_ids", "h_0", "c_0", "h_1", "c_1"], session.InputMetadata.Keys);
        Assert.Equal(["logits", "h_0_out", "c_0_out", "h_1_out", "c_1_out"], session.OutputMetadata.Keys);
        Assert.Equal(typeof(long), session.InputMetadata["input_ids"].ElementType);
        Assert.Equal(new[] { -1, -1, lm.Model.Config.VocabSize }, session.OutputMetadata["logits"].Dimensions);
        var vocab = System.Text.Json.JsonSerializer.Deserialize<string[]>(session.ModelMetadata.CustomMetadataMap["rnnlm.vocab"]);
        Assert.Equal(VocabularyFile.Tokens(lm.Tokenizer), vocab);
        Assert.Equal("RnnLm", session.ModelMetadata.ProducerName);
    }

    [Fact]
    public void TheExportIsWrittenWholeOrNotAtAllAndATruncatedFileIsNotAModel()
    {
        using var lm = InteropModels.Random(CellType.Gru);
        using var tmp = new CliRunner.TempDir();
        string path = tmp.File("m.onnx");
        File.WriteAllText(path, "an earlier file");
        Assert.Contains("already exists", Assert.Throws<IOException>(() => OnnxExport.Write(lm, path)).Message);
        Assert.Equal("an earlier file", File.ReadAllText(path));
        OnnxExport.Write(lm, path, overwrite: true);
        Assert.Single(Directory.GetFiles(tmp.Path));
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(OnnxExport.ToBytes(lm), bytes);
        using (new InferenceSession(path)) { }
        // What a reader would meet if the writer were not atomic: ONNX Runtime refuses it.
        File.WriteAllBytes(tmp.File("cut.onnx"), bytes.AsSpan(0, bytes.Length / 2).ToArray());
        Assert.ThrowsAny<OnnxRuntimeException>(() => new InferenceSession(tmp.File("cut.onnx")).Dispose());
    }
}
