using RnnLm.Data;
using RnnLm.Nn;

namespace RnnLm.Generation;

/// <summary>
/// Continues a prompt token by token. The hidden state is carried forward, so each new token costs one
/// recurrent step (not a re-run of the whole sequence).
/// </summary>
public sealed class TextGenerator
{
    private readonly RecurrentLanguageModel _model;
    private readonly Tokenizer _tokenizer;

    public TextGenerator(RecurrentLanguageModel model, Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer.VocabSize != model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens, the model {model.Config.VocabSize}.", nameof(tokenizer));
        _model = model;
        _tokenizer = tokenizer;
    }

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
        // The word tokenizer ends every line with <eos>; a prompt that does not end in a newline is unfinished.
        if (_tokenizer is WordTokenizer && ids.Count > 0 && ids[^1] == WordTokenizer.EosId && !prompt.EndsWith('\n'))
            ids.RemoveAt(ids.Count - 1);
        if (ids.Count == 0) ids.Add(StartToken());
        return ids.ToArray();
    }

    /// <summary>What an empty prompt starts from: an end of line, where the vocabulary has one, else padding.</summary>
    private int StartToken() => _tokenizer switch
    {
        WordTokenizer => WordTokenizer.EosId,
        CharTokenizer c when c.IdOf('\n') is int nl => nl,
        _ => _tokenizer.PadId,
    };

    /// <summary>Yields the text of each generated token as it comes.</summary>
    public IEnumerable<string> Generate(string prompt, int maxTokens, SamplingOptions options, ulong seed)
    {
        if (maxTokens < 0) throw new ArgumentException($"maxTokens must be 0 or more, got {maxTokens}.", nameof(maxTokens));
        ArgumentNullException.ThrowIfNull(options);
        var sampler = new TokenSampler(options, new Rng(seed));
        var ids = EncodePrompt(prompt);
        return Run(ids, maxTokens, sampler, prompt.Length == 0 || prompt.EndsWith('\n'));
    }

    private IEnumerable<string> Run(int[] promptIds, int maxTokens, TokenSampler sampler, bool atLineStart)
    {
        _model.Eval();
        var state = new float[_model.StateLength(1)];
        var logits = new float[_model.Config.VocabSize];
        int[] token = new int[1];
        int[] banned = [_tokenizer.PadId];
        foreach (int id in promptIds)
        {
            token[0] = id;
            _model.Step(token, state, logits);
        }
        var pending = new List<int>();
        bool lineStart = atLineStart;
        for (int n = 0; n < maxTokens; n++)
        {
            int next = sampler.Next(logits, banned);
            string? piece = Piece(next, pending, ref lineStart);
            if (piece != null) yield return piece;
            token[0] = next;
            _model.Step(token, state, logits);
        }
        if (pending.Count > 0) yield return _tokenizer.Decode(pending.ToArray());
    }

    /// <summary>The text a token adds. Byte-level pieces are held back until they decode to whole characters.</summary>
    private string? Piece(int id, List<int> pending, ref bool lineStart)
    {
        if (_tokenizer is WordTokenizer)
        {
            if (id == WordTokenizer.EosId) { lineStart = true; return "\n"; }
            string word = _tokenizer.TokenText(id);
            string s = lineStart ? word : " " + word;
            lineStart = false;
            return s;
        }
        if (_tokenizer is CharTokenizer) return _tokenizer.TokenText(id);
        pending.Add(id);
        string text = _tokenizer.Decode(pending.ToArray());
        if (text.EndsWith('\uFFFD') && pending.Count < 8) return null;
        pending.Clear();
        return text;
    }
}
