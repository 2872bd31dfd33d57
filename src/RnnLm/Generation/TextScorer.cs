using RnnLm.Data;

namespace RnnLm.Generation;

/// <summary>
/// The log-probability of every token and line of a text under a shared model (for rescoring n-best lists, or
/// finding the surprising parts of a text). Each call runs in a session of its own, so one scorer serves many
/// threads at once. The totals equal eval's: in Zero context eval's sentence mode (each non-blank line from a zero
/// state, its first token given; lines are not cut to the training context here), in Carried context its stream
/// mode over one stream (`eval --batch 1`: every token but the text's first).
/// </summary>
public sealed class TextScorer(TextGenerator generator)
{
    private readonly TextGenerator _generator = generator ?? throw new ArgumentNullException(nameof(generator));

    /// <summary>Scores each line of text (lines end at '\n'; a '\r' before it is dropped), lazily, line by line.</summary>
    /// <exception cref="ArgumentException">unknown is Error and the text has characters the vocabulary lacks (ParamName "text").</exception>
    public IEnumerable<LineScore> Score(string text, ScoreContext context = ScoreContext.Zero,
        UnknownHandling unknown = UnknownHandling.Error, UnknownCharacters? found = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!Enum.IsDefined(context)) throw new ArgumentException($"context must be Zero or Carried, got {context}.", nameof(context));
        var tokenizer = _generator.Tokenizer;
        try
        {
            text = tokenizer.Prepare(text, unknown, found ?? new UnknownCharacters());
        }
        catch (ArgumentException e) when (e.ParamName != nameof(text))
        {
            throw new ArgumentException($"the text cannot be encoded: {e.Message.Replace($" (Parameter '{e.ParamName}')", "")}", nameof(text), e);
        }
        return Lines(text, context, cancel);
    }

    private IEnumerable<LineScore> Lines(string text, ScoreContext context, CancellationToken cancel)
    {
        var tokenizer = _generator.Tokenizer;
        bool addNewline = tokenizer.EncodesNewline;
        using var session = _generator.OpenSession(1);
        var scratch = new float[_generator.Model.Config.VocabSize];
        var ids = new List<int>();
        bool first = true;
        int lineNo = 0, start = 0;
        while (start < text.Length)
        {
            int nl = text.IndexOf('\n', start);
            int end = nl < 0 ? text.Length : nl + 1;
            string segment = text[start..end];
            start = end;
            string line = segment.TrimEnd('\n').TrimEnd('\r');
            lineNo++;
            ids.Clear();
            if (context == ScoreContext.Carried) tokenizer.Encode(segment, ids);
            else
            {
                if (string.IsNullOrWhiteSpace(line)) { yield return new LineScore(lineNo, line, [], 0); continue; }
                session.Reset();
                tokenizer.Encode(addNewline ? line + "\n" : line, ids);
                first = true;
            }
            var scores = new List<TokenScore>(ids.Count);
            double sum = 0;
            foreach (int id in ids)
            {
                cancel.ThrowIfCancellationRequested();
                if (!first)
                {
                    var logits = session.Logits;
                    double lp = logits[id] - LogProbabilities.LogSumExp(logits, scratch);
                    scores.Add(new TokenScore(id, tokenizer.TokenText(id), lp));
                    sum += lp;
                }
                first = false;
                session.Step(id);
            }
            yield return new LineScore(lineNo, line, scores, sum);
        }
    }
}
