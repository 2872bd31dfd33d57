using System.CommandLine;
using RnnLm.Generation;

namespace RnnLm.Cli;

/// <summary>`rnnlm generate`: continues a prompt, printing tokens as they come.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A run folder (its best.ckpt) or a checkpoint file.", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "The text to continue.", DefaultValueFactory = _ => "" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "How many tokens to generate.", DefaultValueFactory = _ => 200 };
        var greedy = new Option<bool>("--greedy") { Description = "Always take the most likely token." };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature (> 0).", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0: all).", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Sample among the most likely tokens whose probabilities add up to p.", DefaultValueFactory = _ => 1f };
        var seed = new Option<int>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 1 };
        var unknown = UnknownOption.Create();
        var cmd = new Command("generate", "Continue a prompt with a trained model.") { model, prompt, maxTokens, greedy, temperature, topK, topP, seed, unknown };
        cmd.SetAction(r => Program.Guard(() =>
        {
            int n = r.GetValue(maxTokens);
            if (n < 0) throw new UsageException($"--max-tokens must be 0 or more, got {n}.");
            var sampling = new SamplingOptions(r.GetValue(greedy), r.GetValue(temperature), r.GetValue(topK), r.GetValue(topP));
            sampling.Validate();
            var handling = UnknownOption.Parse(r.GetValue(unknown)!);
            using var lm = LanguageModel.Load(r.GetValue(model)!);
            var found = new RnnLm.Data.UnknownCharacters();
            string text = lm.Tokenizer.Prepare(r.GetValue(prompt)!, handling, found);
            UnknownOption.Report(found, handling);
            Print(lm, text, n, sampling, (ulong)r.GetValue(seed));
            return 0;
        }));
        return cmd;
    }

    /// <summary>Prints the prompt and its continuation, token by token.</summary>
    public static void Print(LanguageModel lm, string prompt, int maxTokens, SamplingOptions sampling, ulong seed)
    {
        var pieces = lm.Generate(prompt, maxTokens, sampling, seed).GetEnumerator();
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
}
