using RnnLm.Tensors;

namespace RnnLm.Tests.Tensors;

/// <summary>bfloat16 rounding, int8 quantization with row scales, and the quantized row products.</summary>
public class QuantizedMatrixTests
{
    private static float F(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    /// <summary>Hand-computed cases: the kept 16 bits and the 16 dropped, halfway cases to the even neighbour.</summary>
    [Theory]
    [InlineData(0x3F800000u, 0x3F80)] // 1.0, exact
    [InlineData(0x3F807FFFu, 0x3F80)] // just under halfway: down
    [InlineData(0x3F808000u, 0x3F80)] // halfway, 0x3F80 is even: down
    [InlineData(0x3F808001u, 0x3F81)] // just over halfway: up
    [InlineData(0x3F818000u, 0x3F82)] // halfway, 0x3F81 is odd: up to 0x3F82
    [InlineData(0xBF818000u, 0xBF82)] // the same on a negative value (magnitude rounds)
    [InlineData(0x40490FDBu, 0x4049)] // pi: 0x0FDB is under half
    [InlineData(0x3F7FFFFFu, 0x3F80)] // the largest float below 1 rounds up across the exponent to 1.0
    [InlineData(0x7F7F7FFFu, 0x7F7F)] // large, under halfway
    [InlineData(0x7F7FFFFFu, 0x7F80)] // float.MaxValue is past the largest bfloat16's halfway point: +infinity
    [InlineData(0x7F800000u, 0x7F80)] // +infinity
    [InlineData(0xFF800000u, 0xFF80)] // -infinity
    [InlineData(0x00000000u, 0x0000)] // +0
    [InlineData(0x80000000u, 0x8000)] // -0
    [InlineData(0x00000001u, 0x0000)] // the smallest subnormal: to zero
    [InlineData(0x00008000u, 0x0000)] // a subnormal halfway between 0 and the smallest bfloat16 subnormal: to even, 0
    [InlineData(0x00018000u, 0x0002)] // a subnormal halfway between 0x0001 and 0x0002: to even, 0x0002
    [InlineData(0x00008001u, 0x0001)] // just over halfway: the smallest bfloat16 subnormal
    [InlineData(0x807FFFFFu, 0x8080)] // the largest negative subnormal rounds up into the smallest normal
    public void Bf16RoundsToNearestEven(uint input, int expected)
    {
        Assert.Equal((ushort)expected, BFloat16.FromSingle(F(input)));
    }

    [Theory]
    [InlineData(0x7FC00000u, 0x7FC0)] // the default quiet NaN
    [InlineData(0x7F800001u, 0x7FC0)] // a NaN whose payload is all in the dropped bits must not become infinity
    [InlineData(0xFF800001u, 0xFFC0)] // the sign is kept
    [InlineData(0x7FFFFFFFu, 0x7FFF)] // every mantissa bit set: rounding must not carry into the sign
    public void Bf16KeepsNaNsNaN(uint input, int expected)
    {
        ushort b = BFloat16.FromSingle(F(input));
        Assert.Equal((ushort)expected, b);
        Assert.True(float.IsNaN(BFloat16.ToSingle(b)));
    }

    [Fact]
    public void EveryBf16WidensExactlyAndNarrowsBackToItself()
    {
        for (int b = 0; b < 65536; b++)
        {
            float f = BFloat16.ToSingle((ushort)b);
            Assert.Equal((uint)b << 16, BitConverter.SingleToUInt32Bits(f));
            if (!float.IsNaN(f)) Assert.Equal((ushort)b, BFloat16.FromSingle(f));
        }
    }

    [Fact]
    public void Bf16IsTheNearestOfItsTwoNeighbours()
    {
        var rng = new Rng(11);
        for (int n = 0; n < 100_000; n++)
        {
            uint bits = (uint)rng.NextInt(int.MaxValue) * 2 + (uint)rng.NextInt(2);
            float x = F(bits);
            if (!float.IsFinite(x)) continue;
            ushort got = BFloat16.FromSingle(x);
            // The neighbours: the value truncated towards zero, and the next bfloat16 away from zero.
            ushort down = (ushort)(bits >> 16), up = (ushort)(down + 1);
            Assert.True(got == down || got == up, $"{x:R}: got 0x{got:X4}, neighbours 0x{down:X4} 0x{up:X4}");
            double eGot = Math.Abs((double)x - Value(got));
            double eOther = Math.Abs((double)x - Value(got == down ? up : down));
            Assert.True(eGot <= eOther, $"{x:R}: 0x{got:X4} is {eGot} away, the other neighbour {eOther}");
            if (eGot == eOther) Assert.Equal(0, got & 1); // a tie went to the even one
        }
    }

    /// <summary>A bfloat16's value, with infinity standing for 2¹²⁸, where rounding to nearest measures overflow from.</summary>
    private static double Value(ushort b) =>
        (b & 0x7FFF) == 0x7F80 ? Math.CopySign(Math.Pow(2, 128), BFloat16.ToSingle(b)) : BFloat16.ToSingle(b);

    private static float[] Random(int n, int seed, float range = 1f)
    {
        var rng = new Rng((ulong)seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = range * (2 * rng.NextFloat() - 1);
        return a;
    }

    [Fact]
    public void Int8ErrorIsAtMostHalfAStepPerWeight()
    {
        const int rows = 37, cols = 53;
        var w = Random(rows * cols, 3);
        for (int c = 0; c < cols; c++) w[5 * cols + c] *= 1e-30f; // a row of tiny values gets its own tiny scale
        var q = QuantizedMatrix.Create(Precision.Int8, w, rows, cols);
        Assert.Equal(rows * cols + 4L * rows, q.Bytes);
        for (int r = 0; r < rows; r++)
        {
            float max = 0f;
            for (int c = 0; c < cols; c++) max = Math.Max(max, Math.Abs(w[r * cols + c]));
            float s = q.Scale(r);
            Assert.Equal(max / 127f, s);
            bool reachesEnd = false;
            for (int c = 0; c < cols; c++)
            {
                float v = q[r, c], x = w[r * cols + c];
                double steps = v / (double)s;
                Assert.True(Math.Abs(steps - Math.Round(steps)) < 1e-3 && Math.Abs(steps) <= 127.0001, $"[{r},{c}] = {v} is not a multiple of {s} in [-127, 127]");
                Assert.True(Math.Abs((double)x - v) <= 0.5 * s * (1 + 1e-5), $"[{r},{c}]: {x} became {v}, scale {s}");
                if (Math.Abs(x) == max) { reachesEnd = true; Assert.Equal(Math.Sign(x) * 127.0, Math.Round(steps)); }
            }
            Assert.True(reachesEnd);
        }
    }

    [Fact]
    public void Int8ZeroRowHasScaleZeroAndNonFiniteIsRefused()
    {
        var w = Random(3 * 4, 5);
        Array.Clear(w, 4, 4);
        var q = QuantizedMatrix.Create(Precision.Int8, w, 3, 4);
        Assert.Equal(0f, q.Scale(1));
        for (int c = 0; c < 4; c++) Assert.Equal(0f, q[1, c]);
        w[7] = float.NaN;
        Assert.Throws<ArgumentException>(() => QuantizedMatrix.Create(Precision.Int8, w, 3, 4));
        w[7] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => QuantizedMatrix.Create(Precision.Int8, w, 3, 4));
        Assert.Throws<ArgumentException>(() => QuantizedMatrix.Create(Precision.F32, w, 3, 4));
        Assert.Throws<ArgumentException>(() => QuantizedMatrix.Create(Precision.Bf16, w, 4, 4));
    }

    [Fact]
    public void DequantizeGivesEveryValueAsTheIndexerDoes()
    {
        foreach (var p in new[] { Precision.Bf16, Precision.Int8 })
        {
            var w = Random(9 * 7, 8, 3f);
            var q = QuantizedMatrix.Create(p, w, 9, 7);
            var d = new float[w.Length];
            q.Dequantize(d);
            for (int r = 0; r < 9; r++)
                for (int c = 0; c < 7; c++)
                {
                    Assert.Equal(q[r, c], d[r * 7 + c]);
                    if (p == Precision.Bf16) Assert.Equal(BFloat16.Round(w[r * 7 + c]), d[r * 7 + c]);
                }
        }
    }

    public static TheoryData<Precision, int, int, int> Shapes()
    {
        var data = new TheoryData<Precision, int, int, int>();
        foreach (var p in new[] { Precision.Bf16, Precision.Int8 })
            foreach (var (rows, cols, batch) in new[] { (1, 1, 1), (3, 15, 1), (4, 16, 1), (5, 17, 2), (9, 33, 1), (8, 64, 3), (13, 256, 1), (7, 100, 4) })
                data.Add(p, rows, cols, batch);
        return data;
    }

    /// <summary>
    /// The product against Σ in double of the dequantized values and (int8) the rounded activations. bfloat16: float32
    /// accumulation of 16 partial chains of at most ⌈k/16⌉ terms and a 4-level tree errs by at most
    /// (⌈k/16⌉ + 5)·2⁻²⁴·(Σ|w·x| + |bias|). int8: the integer sum is exact, so only the dequantized values' and the
    /// rounded activations' own rounding, the sum's conversion, the two multiplies and the bias add: 8·2⁻²⁴.
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void ProductMatchesADoublePrecisionReferenceOfTheDequantizedWeights(Precision p, int rows, int cols, int batch)
    {
        var w = Random(rows * cols, rows * 100 + cols, 2f);
        var x = Random(batch * cols, cols + 7, 3f);
        var bias = Random(rows, 9);
        var q = QuantizedMatrix.Create(p, w, rows, cols);
        var y = new float[batch * rows];
        q.MultiplyTransposed(batch, x, bias, y);
        var yNoBias = new float[batch * rows];
        q.MultiplyTransposed(batch, x, default, yNoBias);
        var xs = x;
        if (p == Precision.Int8)
        {
            xs = new float[x.Length];
            q.RoundActivationRows(batch, x, xs);
        }
        double eps = Math.Pow(2, -24) * (p == Precision.Int8 ? 8 : (cols + 15) / 16 + 5);
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
            {
                double sum = 0, abs = 0;
                for (int c = 0; c < cols; c++)
                {
                    double t = (double)q[r, c] * xs[b * cols + c];
                    sum += t; abs += Math.Abs(t);
                }
                double got = y[b * rows + r], want = sum + bias[r];
                Assert.True(Math.Abs(got - want) <= eps * (abs + Math.Abs(bias[r])), $"[{b},{r}]: {got} vs {want}");
                Assert.True(Math.Abs(yNoBias[b * rows + r] - sum) <= eps * abs, $"[{b},{r}] without bias: {yNoBias[b * rows + r]} vs {sum}");
            }
    }

    /// <summary>
    /// int8 products round each row of x to integers times a step of max|x| / limit, where limit is 32767 or, for
    /// long rows, what keeps k·127·limit within an int32: every value within half a step, the largest on ±limit.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(256)]
    [InlineData(1000)]
    [InlineData(4096)]
    public unsafe void Int8ActivationsAreRoundedToHalfAStep(int k)
    {
        int limit = QuantizedMatrix.ActivationLimit(k);
        Assert.Equal(k <= 516 ? 32767 : int.MaxValue / (127 * k), limit);
        Assert.True(127L * k * limit <= int.MaxValue);
        var x = Random(k, k + 1, 5f);
        x[k / 2] = -7.5f; // the largest magnitude, negative
        var qx = new short[k];
        float step;
        fixed (float* px = x)
        fixed (short* pq = qx) step = QuantizedMatrix.RoundActivations(px, k, pq);
        Assert.Equal(7.5 / limit, step, 1e-6 * step);
        Assert.Equal(-limit, qx[k / 2]);
        for (int i = 0; i < k; i++)
        {
            Assert.True(Math.Abs(qx[i]) <= limit);
            Assert.True(Math.Abs(x[i] - qx[i] * (double)step) <= 0.5 * step * (1 + 1e-6), $"{x[i]} became {qx[i]}·{step}");
        }
        x.AsSpan().Clear();
        fixed (float* px = x)
        fixed (short* pq = qx) Assert.Equal(0f, QuantizedMatrix.RoundActivations(px, k, pq));
        Assert.All(qx, v => Assert.Equal(0, v));
    }

    /// <summary>A long int8 row at the extremes (every weight ±127, every activation the largest) sums without overflow.</summary>
    [Fact]
    public void Int8LongRowsAtTheExtremesDoNotOverflow()
    {
        const int k = 4096, rows = 5;
        var w = new float[rows * k];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < k; c++) w[r * k + c] = r % 2 == 0 ? 1f : -1f;
        var x = new float[k];
        x.AsSpan().Fill(2f);
        var q = QuantizedMatrix.Create(Precision.Int8, w, rows, k);
        var y = new float[rows];
        q.MultiplyTransposed(1, x, default, y);
        for (int r = 0; r < rows; r++)
            Assert.Equal((r % 2 == 0 ? 1 : -1) * 2.0 * k, y[r], 1e-5 * 2 * k);
    }

    /// <summary>NaN or infinite activations give NaN logits, as float32 products would; zero activations give the bias.</summary>
    [Fact]
    public void Int8NonFiniteActivationsGiveNaNAndZeroGiveTheBias()
    {
        var q = QuantizedMatrix.Create(Precision.Int8, Random(6 * 20, 3), 6, 20);
        var bias = Random(6, 4);
        var x = new float[3 * 20];
        x[5] = float.NaN;
        x[20 + 7] = float.NegativeInfinity;
        var y = new float[3 * 6];
        q.MultiplyTransposed(3, x, bias, y);
        for (int r = 0; r < 6; r++)
        {
            Assert.True(float.IsNaN(y[r]) && float.IsNaN(y[6 + r]), $"row {r}: {y[r]}, {y[6 + r]}");
            Assert.Equal(bias[r], y[12 + r]);
        }
    }

    [Theory]
    [InlineData(Precision.Bf16, 1)]
    [InlineData(Precision.Int8, 1)]
    [InlineData(Precision.Int8, 3)]
    public void ProductSplitOverThreadsGivesTheBitsOfOneThread(Precision p, int batch)
    {
        // 1001 × 300: above the engine's threshold for splitting, and rows that are not a multiple of 4.
        const int rows = 1001, cols = 300;
        var q = QuantizedMatrix.Create(p, Random(rows * cols, 41, 2f), rows, cols);
        var x = Random(batch * cols, 42, 3f);
        var bias = Random(rows, 43);
        var want = new float[batch * rows];
        q.MultiplyTransposed(batch, x, bias, want);
        foreach (int threads in new[] { 1, 2, 3, 4 })
            foreach (bool withBias in new[] { true, false })
            {
                using var engine = new SgemmEngine(threads);
                var got = new float[batch * rows];
                engine.MultiplyTransposed(q, batch, x, withBias ? bias : default, got);
                var expected = want;
                if (!withBias)
                {
                    expected = new float[batch * rows];
                    q.MultiplyTransposed(batch, x, default, expected);
                }
                for (int i = 0; i < got.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(got[i]),
                        $"{p} batch {batch} threads {threads} bias {withBias}, element {i}: {got[i]:R} against {expected[i]:R}");
            }
    }

    [Fact]
    public void ProductRefusesOperandsOfTheWrongLength()
    {
        var q = QuantizedMatrix.Create(Precision.Bf16, Random(12, 1), 3, 4);
        Assert.Throws<ArgumentException>(() => q.MultiplyTransposed(1, new float[3], default, new float[3]));
        Assert.Throws<ArgumentException>(() => q.MultiplyTransposed(1, new float[4], new float[2], new float[3]));
        Assert.Throws<ArgumentException>(() => q.MultiplyTransposed(2, new float[8], default, new float[3]));
    }
}

/// <summary>The quantized products give the same bits on every kernel path and allocate nothing. Serial: they switch the path.</summary>
[Collection(SerialCollection.Name)]
public class QuantizedMatrixPathTests
{
    [Theory]
    [InlineData(Precision.Bf16)]
    [InlineData(Precision.Int8)]
    public void ProductGivesTheSameBitsOnEveryKernelPath(Precision p)
    {
        var rng = new Rng(21);
        foreach (var (rows, cols, batch) in new[] { (1, 1, 1), (5, 15, 1), (6, 17, 2), (9, 33, 1), (11, 256, 3), (4, 100, 1) })
        {
            var w = new float[rows * cols];
            var x = new float[batch * cols];
            var bias = new float[rows];
            for (int i = 0; i < w.Length; i++) w[i] = 2 * rng.NextFloat() - 1;
            for (int i = 0; i < x.Length; i++) x[i] = 2 * rng.NextFloat() - 1;
            for (int i = 0; i < bias.Length; i++) bias[i] = rng.NextFloat();
            var q = QuantizedMatrix.Create(p, w, rows, cols);
            float[] Run() { var y = new float[batch * rows]; q.MultiplyTransposed(batch, x, bias, y); return y; }
            var first = KernelPaths.With(KernelPath.Supported[0], Run);
            foreach (var path in KernelPath.Supported.Skip(1))
            {
                var got = KernelPaths.With(path, Run);
                for (int i = 0; i < first.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(first[i]) == BitConverter.SingleToInt32Bits(got[i]),
                        $"{p} [{rows}x{cols}] batch {batch}, element {i}: {path} gives {got[i]:R}, {KernelPath.Supported[0]} {first[i]:R}");
            }
        }
    }

    [Fact]
    public void ProductAllocatesNothing()
    {
        var w = new float[300 * 64];
        for (int i = 0; i < w.Length; i++) w[i] = i % 7 - 3;
        var x = new float[64];
        var y = new float[300];
        foreach (var p in new[] { Precision.Bf16, Precision.Int8 })
        {
            var q = QuantizedMatrix.Create(p, w, 300, 64);
            q.MultiplyTransposed(1, x, default, y);
            Assert.Equal(0, Allocations.OnThread(() => q.MultiplyTransposed(1, x, default, y), repeats: 4));
        }
    }
}
