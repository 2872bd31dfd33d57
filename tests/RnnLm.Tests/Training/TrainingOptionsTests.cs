using RnnLm.Nn;
using RnnLm.Training;

namespace RnnLm.Tests.Training;

/// <summary>TrainingOptions.Validate names the property out of range, not a CLI flag (the CLI maps names to flags).</summary>
public class TrainingOptionsTests
{
    public static TheoryData<TrainingOptions, string, string> OutOfRange => new()
    {
        { new TrainingOptions { Dropout = 1 }, nameof(TrainingOptions.Dropout), "must be in [0, 1)" },
        { new TrainingOptions { Lr = -1 }, nameof(TrainingOptions.Lr), "must be a positive finite number" },
        { new TrainingOptions { MinCount = 0 }, nameof(TrainingOptions.MinCount), "must be positive" },
        { new TrainingOptions { Tokenizer = "bytes" }, nameof(TrainingOptions.Tokenizer), "'bytes'" },
        { new TrainingOptions { ForgetBias = 1 }, nameof(TrainingOptions.ForgetBias), "lstm cell only" },
        { new TrainingOptions { Cell = CellType.Lstm, ForgetBias = float.NaN }, nameof(TrainingOptions.ForgetBias), "finite" },
        { new TrainingOptions { ValidFraction = 1 }, nameof(TrainingOptions.ValidFraction), "(0, 1)" },
        { new TrainingOptions { Threads = 0 }, nameof(TrainingOptions.Threads), "1..256" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void ValidateNamesThePropertyInTheMessageAndParamName(TrainingOptions options, string property, string says)
    {
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(property, e.ParamName);
        Assert.StartsWith(property + " ", e.Message);
        Assert.Contains(says, e.Message);
        Assert.DoesNotContain("--", e.Message);
    }

    [Fact]
    public void TheDefaultsAreValid() => new TrainingOptions().Validate();
}
