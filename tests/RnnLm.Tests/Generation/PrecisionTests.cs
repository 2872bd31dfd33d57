using System.Globalization;
using System.Text.RegularExpressions;
using RnnLm.Generation;
using RnnLm.Nn;
using RnnLm.Tensors;
using RnnLm.Tests.Cli;
using RnnLm.Tests.Tensors;

namespace RnnLm.Tests.Generation;

/// <summary>A model whose head is stored in bf16 or int8 (RecurrentLanguageModel.SetPrecision) for inference.</summary>
public class PrecisionTests(TrainedRun run) : IClassFixture<TrainedRun>
{
    public static TheoryData<Precision> Reduced() => new(Precision.Bf16, Precision.Int8);

    /// <summary>
    /// The head's input is the same at every precision (the recurrent layers stay float32), so each logit may differ
    /// from float32's by at most Σ|Δw|·|h| (the weights' rounding), plus Σ|ŵ|·|Δh| at int8 (the input's rounding to
    /// 16-bit integers), plus the two float32 sums' rounding.
    /// </summary>
    [Theory]
    [MemberData(nameof(Reduced))]
    public void LogitsAreWithinTheWeightRoundingOfFloat32(Precision p)
    {
        using var f32 = TinyModels.Create(hidden: 40, layers: 1);
        using var low = TinyModels.Create(hidden: 40, layers: 1);
        low.Model.SetPrecision(p);
        Assert.Equal(p, low.Precision);
        var q = low.Model.HeadWeights!;
        var w = f32.Model.Fc.Weight.Value.Data;
        var bias = f32.Model.Fc.Bias.Value.Data;
        int V = f32.Model.Config.VocabSize, H = f32.Model.Config.HiddenDim;
        using var a = f32.Generator.OpenSession(1);
        using var b = low.Generator.OpenSession(1);
        var ids = f32.Tokenizer.Encode("the cat sat on the log\n");
        int differ = 0;
        double eps = Math.Pow(2, -24) * ((H + 15) / 16 + 5);
        foreach (int id in ids)
        {
            a.Step(id);
            b.Step(id);
            var h = a.State[^H..];
            Assert.True(h.SequenceEqual(b.State[^H..]), "the recurrent state must not depend on the head's precision");
            var hq = h.ToArray();
            if (p == Precision.Int8) q.RoundActivationRows(1, h, hq);
            for (int v = 0; v < V; v++)
            {
                double rounding = 0, abs = Math.Abs(bias[v]);
                for (int c = 0; c < H; c++)
                {
                    rounding += Math.Abs((double)q[v, c] - w[v * H + c]) * Math.Abs(h[c]) + Math.Abs(q[v, c] * ((double)hq[c] - h[c]));
                    abs += Math.Abs(w[v * H + c] * h[c]);
                }
                double d = Math.Abs(a.Logits[v] - b.Logits[v]);
                Assert.True(d <= rounding + 2.1 * eps * abs, $"{p} logit {v}: {b.Logits[v]} vs float32 {a.Logits[v]}, allowed {rounding + 2.1 * eps * abs}");
                if (a.Logits[v] != b.Logits[v]) differ++;
            }
        }
        Assert.True(differ > 0, $"{p} gave float32's logits exactly: the reduced weights were not used");
    }

    [Theory]
    [MemberData(nameof(Reduced))]
    public void EvaluationIsCloseToFloat32AndUsesTheValuesTheStepKernelUses(Precision p)
    {
        using var f32 = TinyModels.Create(hidden: 40, layers: 1);
        using var low = TinyModels.Create(hidden: 40, layers: 1);
        low.Model.SetPrecision(p);
        string text = TinyModels.Text + TinyModels.Text;
        var e32 = f32.Evaluate(text, batch: 1);
        var e = low.Evaluate(text, batch: 1);
        Assert.Equal(e32.Tokens, e.Tokens);
        Assert.True(Math.Abs(e.Perplexity / e32.Perplexity - 1) < 0.03, $"{p}: perplexity {e.Perplexity} against float32's {e32.Perplexity}");
        // Large enough that a LossSum on the float32 head would fail the check below.
        Assert.True(Math.Abs(e.Loss - e32.Loss) > 1e-4, $"{p}: loss {e.Loss:R} against float32's {e32.Loss:R}");
        // LossSum multiplies the dequantized values with the float32 GEMM, Forward and Step use the quantized kernel:
        // the same values, so the same loss up to float32 rounding (far less than the precision's own effect).
        var ids = low.Tokenizer.Encode(text);
        int steps = ids.Length - 1, V = low.Model.Config.VocabSize;
        var inputs = ids[..steps];
        var targets = ids[1..];
        double sum = low.Model.LossSum(inputs, targets, 1, steps, out int count);
        var logits = new float[steps * V];
        low.Model.Forward(inputs, 1, steps, logits);
        double fromLogits = 0;
        for (int t = 0; t < steps; t++)
        {
            var row = logits.AsSpan(t * V, V);
            double max = double.NegativeInfinity, z = 0;
            foreach (float l in row) max = Math.Max(max, l);
            foreach (float l in row) z += Math.Exp(l - max);
            fromLogits += max + Math.Log(z) - row[targets[t]];
        }
        Assert.Equal(steps, count);
        Assert.True(Math.Abs(sum - fromLogits) / steps < 1e-5, $"{p}: LossSum gives {sum / steps} per token, the step kernel's logits {fromLogits / steps}");
    }

    [Fact]
    public void BackToFloat32GivesTheTrainedLogitsAndTrainingRefusesReducedPrecision()
    {
        using var f32 = TinyModels.Create();
        using var m = TinyModels.Create();
        m.Model.SetPrecision(Precision.Int8);
        int[] x = [1, 2, 3], y = [2, 3, 4];
        var e = Assert.Throws<InvalidOperationException>(() => m.Model.ForwardBackward(x, y, 1, 3));
        Assert.Contains("int8", e.Message);
        m.Model.SetPrecision(Precision.F32);
        Assert.Null(m.Model.HeadWeights);
        var a = new float[3 * f32.Model.Config.VocabSize];
        var b = new float[a.Length];
        f32.Model.Forward(x, 1, 3, a);
        m.Model.Forward(x, 1, 3, b);
        Assert.Equal(a, b);
        m.Model.ForwardBackward(x, y, 1, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Model.SetPrecision((Precision)7));
    }

    [Theory]
    [InlineData(Precision.F32)]
    [InlineData(Precision.Bf16)]
    [InlineData(Precision.Int8)]
    public void GenerationIsDeterministicForASeedOnAnyThreadCount(Precision p)
    {
        using var one = LanguageModel.Load(run.Run, threads: 1, precision: p);
        using var two = LanguageModel.Load(run.Run, threads: 2, precision: p);
        Assert.Equal(p, one.Precision);
        var options = new GenerationOptions { MaxTokens = 80, Temperature = 0.9f, Seed = 12 };
        var g1 = one.Complete("ROMEO:", options);
        var again = one.Complete("ROMEO:", options);
        var g2 = two.Complete("ROMEO:", options);
        Assert.Equal(80, g1.Tokens);
        Assert.Equal(g1.Text, again.Text);
        Assert.Equal(g1.Text, g2.Text);
        Assert.Equal(BitConverter.DoubleToInt64Bits(g1.LogProb), BitConverter.DoubleToInt64Bits(g2.LogProb));
        var other = one.Complete("ROMEO:", options with { Seed = 13 });
        Assert.NotEqual(g1.Text, other.Text);
        var e1 = one.Evaluate(run.Text[..3000]);
        var e2 = two.Evaluate(run.Text[..3000]);
        Assert.Equal(BitConverter.DoubleToInt64Bits(e1.Loss), BitConverter.DoubleToInt64Bits(e2.Loss));
    }
}

/// <summary>Generation and evaluation at each precision on every kernel path, and no allocation per step. Serial.</summary>
[Collection(SerialCollection.Name)]
public class PrecisionPathTests(TrainedRun run) : IClassFixture<TrainedRun>
{
    [Theory]
    [InlineData(Precision.Bf16)]
    [InlineData(Precision.Int8)]
    public void GenerationAndEvaluationGiveTheSameBitsOnEveryKernelPath(Precision p)
    {
        using var lm = LanguageModel.Load(run.Run, threads: 2, precision: p);
        var options = new GenerationOptions { MaxTokens = 60, Seed = 4 };
        (string, long, long) Run()
        {
            var g = lm.Complete("First Citizen:", options);
            var e = lm.Evaluate(run.Text[..2000]);
            return (g.Text, BitConverter.DoubleToInt64Bits(g.LogProb), BitConverter.DoubleToInt64Bits(e.Loss));
        }
        var first = KernelPaths.With(KernelPath.Supported[0], Run);
        foreach (var path in KernelPath.Supported.Skip(1))
            Assert.Equal(first, KernelPaths.With(path, Run));
    }

    [Theory]
    [InlineData(Precision.Bf16)]
    [InlineData(Precision.Int8)]
    public void AGenerationStepAllocatesNothing(Precision p)
    {
        using var lm = LanguageModel.Load(run.Run, precision: p);
        using var s = lm.Generator.OpenSession(1);
        s.Step(1);
        s.Step(2);
        int token = 0;
        Assert.Equal(0, Allocations.OnThread(() => s.Step(++token % 8 + 1), repeats: 8));
    }
}

/// <summary>`--precision` on the command line.</summary>
public class PrecisionCliTests(TrainedRun run) : IClassFixture<TrainedRun>
{
    [Theory]
    [InlineData("generate")]
    [InlineData("eval")]
    [InlineData("score")]
    [InlineData("serve")]
    [InlineData("bench")]
    public void ABadPrecisionIsAUsageError(string command)
    {
        using var tmp = new CliRunner.TempDir();
        string data = tmp.File("t.txt");
        File.WriteAllText(data, "ROMEO:\nSpeak.\n");
        string[] args = command switch
        {
            "bench" => ["bench", "--generate", "--config", "char", "--tokens", "5", "--precision", "f32", "int4"],
            "eval" or "score" => [command, "--model", run.Run, "--data", data, "--precision", "int4"],
            _ => [command, "--model", run.Run, "--precision", "int4"],
        };
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("--precision must be f32, bf16 or int8, got 'int4'", r.Err);
    }

    [Fact]
    public void EvalAndGenerateRunAtEachPrecision()
    {
        using var tmp = new CliRunner.TempDir();
        string data = tmp.File("valid.txt");
        File.WriteAllText(data, run.Text[^5000..]);
        var ppl = new Dictionary<string, double>();
        foreach (var p in new[] { "f32", "bf16", "int8" })
        {
            var r = CliRunner.Run("eval", "--model", run.Run, "--data", data, "--precision", p);
            Assert.True(r.ExitCode == 0, r.ToString());
            var m = Regex.Match(r.Out, @"perplexity=([\d.]+)");
            Assert.True(m.Success, r.ToString());
            ppl[p] = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var g = CliRunner.Run("generate", "--model", run.Run, "--prompt", "ROMEO:", "--max-tokens", "20", "--precision", p);
            Assert.True(g.ExitCode == 0 && g.Out.StartsWith("ROMEO:", StringComparison.Ordinal), g.ToString());
        }
        Assert.True(Math.Abs(ppl["bf16"] / ppl["f32"] - 1) < 0.01, $"bf16 {ppl["bf16"]} vs f32 {ppl["f32"]}");
        Assert.True(Math.Abs(ppl["int8"] / ppl["f32"] - 1) < 0.01, $"int8 {ppl["int8"]} vs f32 {ppl["f32"]}");
        var bench = CliRunner.Run("bench", "--generate", "--config", "char", "--tokens", "50", "--threads", "1", "--precision", "f32", "int8");
        Assert.True(bench.ExitCode == 0, bench.ToString());
        Assert.Contains("\"precision\":\"f32\"", bench.Out);
        Assert.Contains("\"precision\":\"int8\"", bench.Out);
        var train = CliRunner.Run("bench", "--config", "char", "--steps", "1", "--precision", "int8");
        Assert.True(train.ExitCode != 0 && train.Err.Contains("float32"), train.ToString());
    }
}
