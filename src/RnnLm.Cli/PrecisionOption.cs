using System.CommandLine;
using RnnLm.Tensors;

namespace RnnLm.Cli;

/// <summary>`--precision f32|bf16|int8` of generate, eval, score, serve and bench: how the head's weights are stored for inference.</summary>
public static class PrecisionOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--precision")
        {
            Description = "The output layer's weights for inference: f32 (as trained), bf16 (half the bytes, float32 sums) or int8 (a quarter, " +
                "one scale per row; the layer's input rounded to 16-bit integers, exact integer sums); the rest stays float32. Measured " +
                "perplexity cost against f32 on PTB test and Tiny Shakespeare: under 0.03% for both (docs/results.md).",
            DefaultValueFactory = _ => "f32",
        };
        // Checked while parsing, so a bad value is a usage error (exit code 2) before any model is loaded.
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not ("f32" or "bf16" or "int8")) result.AddError(Message(value));
        });
        return option;
    }

    /// <summary>The same check for bench's list of precisions.</summary>
    public static void AddListValidator(Option<string[]> option) => option.Validators.Add(result =>
    {
        foreach (var value in result.GetValueOrDefault<string[]>() ?? [])
            if (value is not ("f32" or "bf16" or "int8")) { result.AddError(Message(value)); return; }
    });

    private static string Message(string? value) => $"--precision must be f32, bf16 or int8, got '{value}'.";

    public static Precision Parse(string value)
    {
        try
        {
            return Precisions.Parse(value, "--precision");
        }
        catch (ArgumentException)
        {
            throw new UsageException(Message(value));
        }
    }
}
