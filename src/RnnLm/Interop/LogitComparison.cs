namespace RnnLm.Interop;

/// <summary>
/// How far RnnLm's logits are from a reference's: over Values logits, the largest absolute and relative differences,
/// and how many differ by more than atol + rtol·|reference| (the parity fixtures' rule). MaxRel is over the nonzero
/// references, so logits near zero (where atol rules) make it large; ToleranceUsed is the largest difference as a
/// fraction of its allowance atol + rtol·|reference| (at most 1 when the check passes).
/// </summary>
public sealed record LogitComparison(long Values, double MaxAbs, double MaxRel, double ToleranceUsed, long Failures, double Rtol, double Atol)
{
    public bool Passed => Failures == 0;
}
