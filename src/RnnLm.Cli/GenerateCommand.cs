using System.CommandLine;
using System.Globalization;
using RnnLm.Data;
using RnnLm.Generation;
using Spectre.Console;
using static RnnLm.Cli.CliOption;

namespace RnnLm.Cli;

/// <summary>
/// `rnnlm generate`: continues a prompt, printing tokens as they come; or a beam search, several samples (a list of
/// temperatures, --samples each), or an interactive session where the user picks each next token.
/// </summary>
public static class GenerateCommand
{
    /// <summary>How many candidates the interactive mode offers at each step.</summary>
    private const int Choices = 10;

    /// <summary>The library's defaults, which the options take (and the help quotes).</summary>
    private static readonly GenerationOptions Defaults = new();

    // The options read apart from the GenerationOptions they set.
    private static readonly Option<string> Model = new("--model") { Description = "A run folder (its best.ckpt) or a checkpoint file.", Required = true };
    private static readonly Option<string> Prompt = Opt("--prompt", "The text to continue.", "");
    private static readonly Option<string> Temperature = Opt("--temperature",
        "Sampling temperature (> 0); a comma-separated list (0.2,0.5,1.0) gives one sample at each.", Defaults.Temperature.Text());
    private static readonly Option<int> Samples = Opt("--samples", "Samples per temperature.", 1);
    private static readonly Option<bool> Interactive = Opt<bool>("--interactive",
        "Pick each next token among the most likely (arrow keys on a terminal; over a pipe one line per step: a number, a token's text, empty to sample, q to end).");
    private static readonly Option<string> Unknown = UnknownOption.Create();
    private static readonly Option<string> Precision = PrecisionOption.Create();

    /// <summary>Every option of generate, in the help's order, with the GenerationOptions property each sets.</summary>
    private static readonly OptionTable<GenerationOptions> Table = new()
    {
        Model,
        Prompt,
        // Checked here, before --temperature is read, as the library would: its message, naming the flag.
        { Opt("--max-tokens", "How many tokens to generate.", Defaults.MaxTokens), nameof(GenerationOptions.MaxTokens),
            (o, v) => o with { MaxTokens = v >= 0 ? v : throw new UsageException($"--max-tokens must be 0 or more, got {v}.") } },
        { Opt<bool>("--greedy", "Always take the most likely token."), nameof(GenerationOptions.Greedy), (o, v) => o with { Greedy = v } },
        { Temperature, nameof(GenerationOptions.Temperature), (o, v) => o with { Temperature = ParseTemperatures(v)[0] } },
        { Opt("--top-k", "Sample among the k most likely tokens (0: all).", Defaults.TopK), nameof(GenerationOptions.TopK), (o, v) => o with { TopK = v } },
        { Opt("--top-p", "Sample among the most likely tokens whose probabilities add up to p.", Defaults.TopP),
            nameof(GenerationOptions.TopP), (o, v) => o with { TopP = v } },
        { Opt("--seed", "Sampling seed (sample i of --samples uses seed + i).", (int)Defaults.Seed),
            nameof(GenerationOptions.Seed), (o, v) => o with { Seed = (ulong)v } },
        { Opt("--beam", "Beam search with this many beams (1: sample).", Defaults.Beam), nameof(GenerationOptions.Beam), (o, v) => o with { Beam = v } },
        { Opt("--length-penalty", "Beam search ranks by log-probability / tokens^this (0: none, 1: per token).", Defaults.LengthPenalty),
            nameof(GenerationOptions.LengthPenalty), (o, v) => o with { LengthPenalty = v } },
        { new Option<string[]>("--stop") { Description = "Stop where this text appears (repeatable); the output ends before it.", AllowMultipleArgumentsPerToken = false },
            nameof(GenerationOptions.Stop), (o, v) => o with { Stop = v ?? [] } },
        Samples,
        { Opt("--repetition-penalty", "Divide the logits of tokens already seen by this (1: off).", Defaults.RepetitionPenalty),
            nameof(GenerationOptions.RepetitionPenalty), (o, v) => o with { RepetitionPenalty = v } },
        Interactive,
        Unknown,
        Precision,
    };

    /// <summary>The flag of each GenerationOptions property generate sets.</summary>
    public static IReadOnlyDictionary<string, string> Flags => Table.Flags;

    /// <summary>The properties the table sets, for tests that compare them with the library's defaults.</summary>
    public static IEnumerable<string> BoundProperties => Table.Properties;

    public static Command Create()
    {
        var cmd = Table.Command("generate", "Continue a prompt with a trained model.");
        cmd.SetAction(r => Program.Guard(() =>
        {
            var (options, temperatures, count) = ReadOptions(r);
            bool chat = r.GetValue(Interactive);
            if (chat && (options.Beam > 1 || temperatures.Length > 1 || count > 1))
                throw new UsageException("--interactive takes one temperature and no --beam or --samples.");
            var handling = UnknownOption.Parse(r.GetValue(Unknown)!);
            var p = PrecisionOption.Parse(r.GetValue(Precision)!);
            using var lm = LanguageModel.Load(r.GetValue(Model)!, precision: p);
            var found = new UnknownCharacters();
            string text = GenerationFlags.Map(() => lm.Generator.PreparePrompt(r.GetValue(Prompt)!, handling, found));
            UnknownOption.Report(found, handling);
            if (chat) return RunInteractive(lm, text, options);
            if (options.Beam > 1 || temperatures.Length > 1 || count > 1)
            {
                var results = GenerationFlags.Map(() => options.Beam > 1 && temperatures.Length == 1 && count == 1
                    ? [lm.Complete(text, options)]
                    : lm.Samples(text, options, temperatures, count));
                foreach (var g in results)
                {
                    if (results.Count > 1) Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "--- temperature {0}, seed {1}", g.Temperature, g.Seed));
                    Console.WriteLine(text + g.Text);
                }
                return 0;
            }
            GenerationFlags.Map(() => { Stream(lm, text, options); return 0; });
            return 0;
        }));
        return cmd;
    }

    /// <summary>
    /// The generation options given (the library's defaults where not), checked; the temperatures of --temperature
    /// (the options take the first) and --samples.
    /// </summary>
    public static (GenerationOptions Options, float[] Temperatures, int Samples) ReadOptions(ParseResult r)
    {
        var options = Table.Apply(r, Defaults);
        var temperatures = ParseTemperatures(r.GetValue(Temperature)!);
        int count = r.GetValue(Samples);
        if (count < 1) throw new UsageException($"--samples must be at least 1, got {count}.");
        GenerationFlags.Map(() => { options.Validate(); return 0; });
        return (options, temperatures, count);
    }

    /// <summary>"0.2,0.5,1.0" → [0.2, 0.5, 1.0], each a positive number.</summary>
    public static float[] ParseTemperatures(string value)
    {
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        var list = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out list[i]) || !(list[i] > 0) || float.IsInfinity(list[i]))
                throw new UsageException($"--temperature must be a positive number or a comma-separated list of them, got '{value}'.");
        return list;
    }

    /// <summary>Prints the prompt and its continuation, token by token (the way train's sample is printed).</summary>
    public static void Print(LanguageModel lm, string prompt, int maxTokens, SamplingOptions sampling, ulong seed) =>
        Stream(lm, prompt, new GenerationOptions
        {
            MaxTokens = maxTokens, Greedy = sampling.Greedy, Temperature = sampling.Temperature, TopK = sampling.TopK, TopP = sampling.TopP, Seed = seed,
        });

    private static void Stream(LanguageModel lm, string prompt, GenerationOptions options)
    {
        var pieces = lm.Generator.Pieces(prompt, options, default).GetEnumerator();
        bool any = pieces.MoveNext(); // encodes the prompt first: an unknown character fails before anything is printed
        Console.Write(prompt);
        while (any)
        {
            Console.Write(pieces.Current);
            Console.Out.Flush();
            any = pieces.MoveNext();
        }
        Console.WriteLine();
    }

    /// <summary>
    /// textgenrnn's interactive mode: at each step the most likely next tokens with their probabilities; the user
    /// picks one (a Spectre.Console selection on a terminal; over a pipe a line of stdin: its number, its text,
    /// an empty line to sample, q to end). Ends at --max-tokens, a stop sequence, q or the end of the input.
    /// </summary>
    private static int RunInteractive(LanguageModel lm, string prompt, GenerationOptions options)
    {
        bool terminal = !Console.IsInputRedirected && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        using var g = lm.Generator.Start(prompt, options);
        while (!g.IsFinished)
        {
            var candidates = g.Candidates(Choices);
            int? choice = terminal ? Select(prompt + g.Text, candidates) : ReadChoice(prompt + g.Text, candidates, lm.Tokenizer);
            if (choice == -1) break;
            if (choice is int id) g.Choose(id);
            else g.Next();
        }
        Console.WriteLine(prompt + g.Text);
        return 0;
    }

    private const string SampleItem = "(sample)", EndItem = "(end)";

    private static int? Select(string soFar, IReadOnlyList<TokenCandidate> candidates)
    {
        AnsiConsole.MarkupLine($"[grey]{Markup.Escape(soFar)}[/]");
        var items = candidates.Select(Label).Append(SampleItem).Append(EndItem).ToList();
        string picked = AnsiConsole.Prompt(new SelectionPrompt<string>().Title("Next token:").PageSize(Choices + 2).AddChoices(items));
        if (picked == EndItem) return -1;
        if (picked == SampleItem) return null;
        return candidates[items.IndexOf(picked)].Id;
    }

    private static string Label(TokenCandidate c) =>
        Markup.Escape(string.Format(CultureInfo.InvariantCulture, "{0,-16} {1,6:P1}", Visible(c.Text), c.Probability));

    /// <summary>A token's text with line breaks, tabs and spaces visible.</summary>
    public static string Visible(string text) => "'" + text.Replace("\n", "\\n").Replace("\t", "\\t") + "'";

    /// <summary>Prints the text so far and the numbered candidates, then reads a choice from stdin (-1: end).</summary>
    private static int? ReadChoice(string soFar, IReadOnlyList<TokenCandidate> candidates, Tokenizer tokenizer)
    {
        Console.WriteLine($"> {soFar}");
        for (int i = 0; i < candidates.Count; i++)
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  {0,2}. {1,-16} {2:F4}", i + 1, Visible(candidates[i].Text), candidates[i].Probability));
        while (true)
        {
            Console.Write("choice (number, token, empty to sample, q to end): ");
            string? line = Console.ReadLine();
            if (line == null || line.Trim() == "q") { Console.WriteLine(); return -1; }
            if (line.Length == 0) return null;
            if (int.TryParse(line.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k >= 1 && k <= candidates.Count)
                return candidates[k - 1].Id;
            string token = line.Replace("\\n", "\n").Replace("\\t", "\t");
            for (int id = 1; id < tokenizer.VocabSize; id++)
                if (tokenizer.TokenText(id) == token) return id;
            Console.Error.WriteLine($"note: '{line}' is neither a number from 1 to {candidates.Count} nor a token of the vocabulary.");
        }
    }
}
