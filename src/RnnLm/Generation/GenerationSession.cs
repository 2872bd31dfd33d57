using System.Numerics.Tensors;
using System.Text;
using RnnLm.Nn;

namespace RnnLm.Generation;

/// <summary>
/// One sampling generation in progress, after its prompt: its own model state and buffers (see
/// <see cref="InferenceSession"/>), sampler, stop-sequence matcher and text so far. Call <see cref="Next"/> to draw a
/// token, or <see cref="Choose"/> to take one (interactive use, after looking at <see cref="Candidates"/>), until
/// <see cref="IsFinished"/>. Not thread-safe (one caller); dispose it to free the buffers.
/// </summary>
public sealed class GenerationSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly TokenSampler _sampler;
    private readonly PieceDecoder _decoder;
    private readonly StopSequenceMatcher _stop;
    private readonly bool[]? _seen;
    private readonly float[] _adjusted, _scratch;
    private readonly int[] _banned;
    private readonly int[] _order;
    private readonly StringBuilder _text = new();
    private readonly RnnLm.Data.Tokenizer _tokenizer;

    internal GenerationSession(TextGenerator generator, InferenceSession session, int[] promptIds, bool atLineStart, GenerationOptions options)
    {
        _session = session;
        _tokenizer = generator.Tokenizer;
        Options = options;
        int v = session.Model.Config.VocabSize;
        _sampler = new TokenSampler(options.Sampling, new Rng(options.Seed));
        _decoder = new PieceDecoder(_tokenizer, atLineStart);
        _stop = new StopSequenceMatcher(options.Stop);
        _adjusted = new float[v];
        _scratch = new float[v];
        _order = new int[v];
        _banned = [_tokenizer.PadId];
        if (options.RepetitionPenalty != 1f)
        {
            _seen = new bool[v];
            foreach (int id in promptIds) _seen[id] = true;
        }
        if (options.MaxTokens == 0) Finish = FinishReason.Length;
    }

    public GenerationOptions Options { get; }
    /// <summary>Tokens generated so far.</summary>
    public int Generated { get; private set; }
    /// <summary>The log-probability of the tokens generated so far (natural log, the model's own distribution).</summary>
    public double LogProb { get; private set; }
    /// <summary>Why the generation ended, or null while it goes on.</summary>
    public FinishReason? Finish { get; private set; }
    public bool IsFinished => Finish != null;
    /// <summary>The text released so far (a possible start of a stop sequence is held back until it is decided).</summary>
    public string Text => _text.ToString();

    /// <summary>Draws the next token; returns the text it releases (often one token's, possibly empty).</summary>
    /// <exception cref="InvalidOperationException">The generation has finished.</exception>
    public string Next()
    {
        ThrowIfFinished();
        return Advance(_sampler.Next(Adjusted(), _banned));
    }

    /// <summary>Takes the given token as the next one (for a person choosing); returns the text it releases.</summary>
    /// <exception cref="ArgumentException">id is outside the vocabulary or is padding.</exception>
    public string Choose(int id)
    {
        ThrowIfFinished();
        int v = _adjusted.Length;
        if (id <= 0 || id >= v) throw new ArgumentException($"id must be a token id in [1, {v}) (0 is padding), got {id}.", nameof(id));
        return Advance(id);
    }

    /// <summary>
    /// The k most likely next tokens, with the probabilities sampling sees: softmax(logits / Temperature) after the
    /// repetition penalty, padding left out (before any top-k or top-p cut).
    /// </summary>
    public IReadOnlyList<TokenCandidate> Candidates(int k)
    {
        if (k < 1) throw new ArgumentException($"k must be at least 1, got {k}.", nameof(k));
        var p = _scratch.AsSpan();
        TensorPrimitives.Divide(Adjusted(), Options.Temperature, p);
        p[_tokenizer.PadId] = float.NegativeInfinity;
        TensorPrimitives.SoftMax(p, p);
        var order = _order.AsSpan();
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var probs = _scratch;
        order.Sort((a, b) => probs[a] != probs[b] ? probs[b].CompareTo(probs[a]) : a.CompareTo(b));
        k = Math.Min(k, order.Length - 1);
        var list = new List<TokenCandidate>(k);
        for (int i = 0; i < k; i++) list.Add(new TokenCandidate(order[i], _tokenizer.TokenText(order[i]), probs[order[i]]));
        return list;
    }

    /// <summary>The generation as a result (call when finished; before, it describes the part so far).</summary>
    public GenerationResult Result() =>
        new(Text, Generated, Finish ?? FinishReason.Length, LogProb, Options.Temperature, Options.Seed);

    /// <summary>The logits sampling reads: the model's, or a copy with the repetition penalty applied.</summary>
    private ReadOnlySpan<float> Adjusted()
    {
        var logits = _session.Logits;
        if (_seen == null) return logits;
        logits.CopyTo(_adjusted);
        float penalty = Options.RepetitionPenalty;
        for (int i = 0; i < _seen.Length; i++)
            if (_seen[i]) _adjusted[i] = _adjusted[i] > 0 ? _adjusted[i] / penalty : _adjusted[i] * penalty;
        return _adjusted;
    }

    private string Advance(int id)
    {
        var logits = _session.Logits;
        LogProb += logits[id] - LogProbabilities.LogSumExp(logits, _scratch);
        Generated++;
        if (_seen != null) _seen[id] = true;
        string? piece = _decoder.Piece(id);
        string emit = piece != null ? _stop.Push(piece) : "";
        if (_stop.Stopped) Finish = FinishReason.Stop;
        else if (Generated >= Options.MaxTokens)
        {
            emit += _stop.Push(_decoder.Flush());
            if (_stop.Stopped) Finish = FinishReason.Stop;
            else
            {
                emit += _stop.Flush();
                Finish = FinishReason.Length;
            }
        }
        else _session.Step(id);
        _text.Append(emit);
        return emit;
    }

    private void ThrowIfFinished()
    {
        if (Finish != null) throw new InvalidOperationException($"the generation has finished ({Finish}).");
    }

    public void Dispose() => _session.Dispose();
}
