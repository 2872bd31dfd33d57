using System.CommandLine;
using RnnLm.Tensors;

namespace RnnLm.Cli;

/// <summary>`--precision f32|bf16|int8` of generate, eval, score, serve and bench: how the head's weights are stored for inference.</summary>
public static class PrecisionOption
{
    public static Option<string> Create() => new("--precision")
    {
        Description = "The output layer's weights for inference: f32 (as trained), bf16 (half the bytes) or int8 (a quarter, one scale " +
            "per row), accumulated in float32. Measured perplexity cost against f32: PERPLEXITY_COST.",
        DefaultValueFactory = _ => "f32",
    };

    public static Precision Parse(string value)
    {
        try
        {
            return Precisions.Parse(value, "--precision");
        }
        catch (ArgumentException)
        {
            throw new UsageException($"--precision must be f32, bf16 or int8, got '{value}'.");
        }
    }
}
