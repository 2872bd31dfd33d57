namespace RnnLm.Interop;

/// <summary>
/// How far RnnLm's logits are from a reference's: over Values logits, the largest absolute and relative differences,
/// and how many differ by more than atol + rtol·|reference| (the parity fixtures' rule).
/// </summary>
public sealed record LogitComparison(long Values, double MaxAbs, double MaxRel, long Failures, double Rtol, double Atol)
{
    public bool Passed => Failures == 0;
}
