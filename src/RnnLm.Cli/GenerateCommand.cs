using System.CommandLine;
using System.Globalization;
using RnnLm.Data;
using RnnLm.Generation;
using Spectre.Console;

namespace RnnLm.Cli;

/// <summary>
/// `rnnlm generate`: continues a prompt, printing tokens as they come; or a beam search, several samples (a list of
/// temperatures, --samples each), or an interactive session where the user picks each next token.
/// </summary>
public static class GenerateCommand
{
    /// <summary>How many candidates the interactive mode offers at each step.</summary>
    private const int Choices = 10;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A run folder (its best.ckpt) or a checkpoint file.", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "The text to continue.", DefaultValueFactory = _ => "" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "How many tokens to generate.", DefaultValueFactory = _ => 200 };
        var greedy = new Option<bool>("--greedy") { Description = "Always take the most likely token." };
        var temperature = new Option<string>("--temperature")
        { Description = "Sampling temperature (> 0); a comma-separated list (0.2,0.5,1.0) gives one sample at each.", DefaultValueFactory = _ => "1" };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0: all).", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Sample among the most likely tokens whose probabilities add up to p.", DefaultValueFactory = _ => 1f };
        var seed = new Option<int>("--seed") { Description = "Sampling seed (sample i of --samples uses seed + i).", DefaultValueFactory = _ => 1 };
        var beam = new Option<int>("--beam") { Description = "Beam search with this many beams (1: sample).", DefaultValueFactory = _ => 1 };
        var lengthPenalty = new Option<float>("--length-penalty")
        { Description = "Beam search ranks by log-probability / tokens^this (0: none, 1: per token).", DefaultValueFactory = _ => 1f };
        var stop = new Option<string[]>("--stop") { Description = "Stop where this text appears (repeatable); the output ends before it.", AllowMultipleArgumentsPerToken = false };
        var samples = new Option<int>("--samples") { Description = "Samples per temperature.", DefaultValueFactory = _ => 1 };
        var repetition = new Option<float>("--repetition-penalty")
        { Description = "Divide the logits of tokens already seen by this (1: off).", DefaultValueFactory = _ => 1f };
        var interactive = new Option<bool>("--interactive")
        { Description = "Pick each next token among the most likely (arrow keys on a terminal; over a pipe one line per step: a number, a token's text, empty to sample, q to end)." };
        var unknown = UnknownOption.Create();
        var precision = PrecisionOption.Create();
        var cmd = new Command("generate", "Continue a prompt with a trained model.")
        { model, prompt, maxTokens, greedy, temperature, topK, topP, seed, beam, lengthPenalty, stop, samples, repetition, interactive, unknown, precision };
        cmd.SetAction(r => Program.Guard(() =>
        {
            int n = r.GetValue(maxTokens);
            if (n < 0) throw new UsageException($"--max-tokens must be 0 or more, got {n}.");
            var temperatures = ParseTemperatures(r.GetValue(temperature)!);
            int count = r.GetValue(samples);
            if (count < 1) throw new UsageException($"--samples must be at least 1, got {count}.");
            var options = new GenerationOptions
            {
                MaxTokens = n, Greedy = r.GetValue(greedy), Temperature = temperatures[0], TopK = r.GetValue(topK), TopP = r.GetValue(topP),
                Seed = (ulong)r.GetValue(seed), Beam = r.GetValue(beam), LengthPenalty = r.GetValue(lengthPenalty),
                Stop = r.GetValue(stop) ?? [], RepetitionPenalty = r.GetValue(repetition),
            };
            GenerationFlags.Map(() => { options.Validate(); return 0; });
            bool chat = r.GetValue(interactive);
            if (chat && (options.Beam > 1 || temperatures.Length > 1 || count > 1))
                throw new UsageException("--interactive takes one temperature and no --beam or --samples.");
            var handling = UnknownOption.Parse(r.GetValue(unknown)!);
            var p = PrecisionOption.Parse(r.GetValue(precision)!);
            using var lm = LanguageModel.Load(r.GetValue(model)!, precision: p);
            var found = new UnknownCharacters();
            string text = GenerationFlags.Map(() => lm.Generator.PreparePrompt(r.GetValue(prompt)!, handling, found));
            UnknownOption.Report(found, handling);
            if (chat) return Interactive(lm, text, options);
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
    private static int Interactive(LanguageModel lm, string prompt, GenerationOptions options)
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
