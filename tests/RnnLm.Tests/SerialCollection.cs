namespace RnnLm.Tests;

/// <summary>Tests that measure process-wide counters (allocations, time) run alone, not beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}
