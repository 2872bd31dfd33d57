using RnnLm.Data;

namespace RnnLm.Tests.Data;

/// <summary>Runs alone: the allocation counter is process-wide.</summary>
[CollectionDefinition(nameof(DataLoaderAllocationTests), DisableParallelization = true)]
[Collection(nameof(DataLoaderAllocationTests))]
public class DataLoaderAllocationTests
{
    [Fact]
    public void SteadyStateAllocatesLittle()
    {
        var tokens = Enumerable.Range(0, 200_000).Select(i => i % 500).ToArray();
        var loader = new DataLoader(new StreamDataset(tokens, 16, 32));
        foreach (var _ in loader.Batches(0)) { } // warm up
        long before = GC.GetTotalAllocatedBytes(true);
        int n = 0;
        foreach (var _ in loader.Batches(1)) n++;
        long perBatch = (GC.GetTotalAllocatedBytes(true) - before) / n;
        Assert.True(perBatch < 1024, $"{perBatch} bytes allocated per batch");
    }
}
