using RnnLm.Generation;

namespace RnnLm.Tests.Generation;

/// <summary>A cancelled generation stops within one step and frees its session.</summary>
public class CancellationTests
{
    [Fact]
    public async Task CancellingStopsWithinOneStepAndFreesTheSession()
    {
        using var lm = TinyModels.Create();
        using var cts = new CancellationTokenSource();
        int received = 0;
        var options = new GenerationOptions { MaxTokens = 10_000, Seed = 3 };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var piece in lm.GenerateAsync("the ", options, cts.Token))
            {
                received++;
                Assert.Equal(1, lm.ActiveSessions);
                if (received == 5) cts.Cancel();
                Assert.True(received <= 5, "a piece came after the cancellation");
            }
        });
        Assert.Equal(5, received);
        Assert.Equal(0, lm.ActiveSessions);
    }

    [Fact]
    public async Task AnEnumerationLeftEarlyFreesTheSession()
    {
        using var lm = TinyModels.Create();
        await foreach (var _ in lm.GenerateAsync("a", new GenerationOptions { MaxTokens = 1000 }))
            break;
        Assert.Equal(0, lm.ActiveSessions);
    }

    [Fact]
    public void ABeamSearchAlreadyCancelledThrowsAndFreesItsSession()
    {
        using var lm = TinyModels.Create();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => lm.Complete("the", new GenerationOptions { Beam = 4 }, cts.Token));
        Assert.Equal(0, lm.ActiveSessions);
    }
}
