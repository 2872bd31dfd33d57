using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using RnnLm.Server;
using RnnLm.Tests.Generation;

namespace RnnLm.Tests.Serving;

/// <summary>A real Kestrel on a free loopback port serving two tiny models ("a", the default, and "b").</summary>
public sealed class TestServer : IAsyncDisposable
{
    public ModelRegistry Models { get; } = new();
    public WebApplication App { get; }
    public Uri Base { get; }
    public HttpClient Client { get; }
    public LanguageModel A { get; }

    public TestServer(RnnLmServerOptions? options = null)
    {
        A = TinyModels.Create(seed: 7);
        Models.Add("a", A);
        Models.Add("b", TinyModels.Create("word", seed: 8, mode: RnnLm.Training.DataMode.Sentences));
        App = RnnLmHost.Build(Models, "http://127.0.0.1:0", options, logging: l => l.SetMinimumLevel(LogLevel.Warning));
        App.StartAsync().GetAwaiter().GetResult();
        Base = new Uri(RnnLmHost.Addresses(App)[0]);
        Client = new HttpClient { BaseAddress = Base, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Models.Dispose();
    }
}
