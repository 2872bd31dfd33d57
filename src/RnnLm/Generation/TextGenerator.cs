using RnnLm.Data;
using RnnLm.Nn;

namespace RnnLm.Generation;

/// <summary>
/// Continues prompts with a shared model. The generator holds no per-call state: every call runs in a session of
/// its own (its own hidden state, logits and step buffers; see <see cref="InferenceSession"/>), so one generator
/// serves any number of threads at once. The hidden state is carried forward, so each new token costs one
/// recurrent step (not a re-run of the whole sequence).
/// </summary>
public sealed class TextGenerator
{
    private readonly RecurrentLanguageModel _model;
    private readonly Tokenizer _tokenizer;
    private int _active;

    public TextGenerator(RecurrentLanguageModel model, Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer.VocabSize != model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens, the model {model.Config.VocabSize}.", nameof(tokenizer));
        _model = model;
        _tokenizer = tokenizer;
    }

    public RecurrentLanguageModel Model => _model;
    public Tokenizer Tokenizer => _tokenizer;

    /// <summary>Sessions open now (generations and scorings running); each holds its own buffers until disposed.</summary>
    public int ActiveSessions => Volatile.Read(ref _active);

    /// <summary>The prompt's ids; unknown words map to &lt;unk&gt;, unknown characters throw (naming them).</summary>
    public int[] EncodePrompt(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var ids = new List<int>();
        try
        {
            _tokenizer.Encode(prompt, ids);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the prompt cannot be encoded: {e.Message}", nameof(prompt), e);
        }
        // A line-end token (the word tokenizer's <eos>) ends every line; a prompt that does not end in a newline is unfinished.
        if (_tokenizer.LineEndTokenId is int lineEnd && ids.Count > 0 && ids[^1] == lineEnd && !prompt.EndsWith('\n'))
            ids.RemoveAt(ids.Count - 1);
        if (ids.Count == 0) ids.Add(StartToken());
        return ids.ToArray();
    }

    /// <summary>What an empty prompt starts from: an end of line, where the vocabulary has one, else padding.</summary>
    public int StartToken() => _tokenizer.StartId;

    /// <summary>The prompt as the vocabulary can encode it, under a policy for the characters it lacks.</summary>
    /// <exception cref="ArgumentException">Error and the prompt has such characters (the message names them; ParamName "prompt").</exception>
    public string PreparePrompt(string prompt, UnknownHandling unknown, UnknownCharacters? found = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        try
        {
            return _tokenizer.Prepare(prompt, unknown, found ?? new UnknownCharacters());
        }
        catch (ArgumentException e) when (e.ParamName != nameof(prompt))
        {
            throw new ArgumentException($"the prompt cannot be encoded: {StripParam(e)}", nameof(prompt), e);
        }
    }

    private static string StripParam(ArgumentException e) =>
        e.ParamName is string p ? e.Message.Replace($" (Parameter '{p}')", "") : e.Message;

    /// <summary>
    /// Starts a sampling (or greedy) generation: the prompt is run through a new session, which the caller owns
    /// and must dispose. Beam search is <see cref="BeamSearch"/>'s; options.Beam is ignored here.
    /// </summary>
    public GenerationSession Start(string prompt, GenerationOptions options, CancellationToken cancel = default) =>
        Start(prompt, options, options?.Seed ?? 0, options?.Temperature ?? 1f, cancel);

    /// <summary>Starts a generation with its own seed and temperature in place of the options'.</summary>
    public GenerationSession Start(string prompt, GenerationOptions options, ulong seed, float temperature, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options with { Temperature = temperature, Seed = seed };
        options.Validate();
        string text = PreparePrompt(prompt, options.Unknown);
        var ids = EncodePrompt(text);
        var session = OpenSession(1);
        try
        {
            foreach (int id in ids)
            {
                cancel.ThrowIfCancellationRequested();
                session.Step(id);
            }
            return new GenerationSession(this, session, ids, AtLineStart(text), options);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Whether text that follows this prompt starts a line (no space before a first word).</summary>
    public static bool AtLineStart(string prompt) => prompt.Length == 0 || prompt.EndsWith('\n');

    /// <summary>A new inference session on the model, counted in <see cref="ActiveSessions"/> until disposed.</summary>
    public InferenceSession OpenSession(int batch)
    {
        var s = new InferenceSession(_model, batch, () => Interlocked.Decrement(ref _active));
        Interlocked.Increment(ref _active);
        return s;
    }

    /// <summary>Yields the text of each generated token as it comes (the API of earlier versions; same output).</summary>
    public IEnumerable<string> Generate(string prompt, int maxTokens, SamplingOptions options, ulong seed)
    {
        if (maxTokens < 0) throw new ArgumentException($"maxTokens must be 0 or more, got {maxTokens}.", nameof(maxTokens));
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(prompt);
        options.Validate();
        var o = new GenerationOptions
        {
            MaxTokens = maxTokens, Greedy = options.Greedy, Temperature = options.Temperature, TopK = options.TopK,
            TopP = options.TopP, Seed = seed,
        };
        EncodePrompt(prompt); // an unknown character fails here, before the first piece is asked for
        return Pieces(prompt, o, default);
    }

    /// <summary>The pieces of one sampling generation (empty pieces left out).</summary>
    public IEnumerable<string> Pieces(string prompt, GenerationOptions options, CancellationToken cancel)
    {
        using var g = Start(prompt, options, cancel);
        while (!g.IsFinished)
        {
            cancel.ThrowIfCancellationRequested();
            string piece = g.Next();
            if (piece.Length > 0) yield return piece;
        }
    }

    /// <summary>
    /// One generation to the end: a beam search when options.Beam &gt; 1, else sampling (or greedy).
    /// </summary>
    public GenerationResult Complete(string prompt, GenerationOptions options, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Beam > 1) return BeamSearch.Run(this, prompt, options, cancel);
        using var g = Start(prompt, options, cancel);
        while (!g.IsFinished)
        {
            cancel.ThrowIfCancellationRequested();
            g.Next();
        }
        return g.Result();
    }

    /// <summary>
    /// Several samples in one call: for each temperature (the options' own when none are given) `samples`
    /// generations, the i-th with seed options.Seed + i. In order: temperature by temperature, then by sample.
    /// </summary>
    public IReadOnlyList<GenerationResult> Samples(string prompt, GenerationOptions options, IReadOnlyList<float>? temperatures = null,
        int samples = 1, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (samples < 1) throw new ArgumentException($"samples must be at least 1, got {samples}.", nameof(samples));
        if (temperatures is { Count: 0 }) throw new ArgumentException("temperatures is empty; pass null for the options' temperature.", nameof(temperatures));
        var list = new List<GenerationResult>();
        foreach (float t in temperatures ?? [options.Temperature])
        {
            if (!(t > 0) || float.IsInfinity(t)) throw new ArgumentException($"temperatures must be positive numbers, got {t}.", nameof(temperatures));
            for (int i = 0; i < samples; i++)
                list.Add(Complete(prompt, options with { Temperature = t, Seed = options.Seed + (ulong)i }, cancel));
        }
        return list;
    }

    /// <summary>The k most likely next tokens after a prefix, with their probabilities at a temperature (padding left out).</summary>
    public IReadOnlyList<TokenCandidate> Candidates(string prefix, int k, float temperature = 1f, UnknownHandling unknown = UnknownHandling.Error)
    {
        Check.Positive(k, nameof(k));
        using var g = Start(prefix, new GenerationOptions { MaxTokens = 1, Temperature = temperature, Unknown = unknown });
        return g.Candidates(k);
    }
}
