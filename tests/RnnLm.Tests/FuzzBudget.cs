namespace RnnLm.Tests;

/// <summary>
/// How many inputs a fuzz test generates: its bounded count in the suite, times RNNLM_FUZZ_SCALE for the long runs
/// of bench/fuzz.sh (at least 100,000 inputs per reader). The seeds stay fixed, so a long run extends the short one.
/// </summary>
public static class FuzzBudget
{
    public static int Scale { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("RNNLM_FUZZ_SCALE"), out int s) && s > 1 ? s : 1;

    public static int Iter(int inSuite) => checked(inSuite * Scale);
}
