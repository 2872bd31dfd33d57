using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RnnLm.Server;

/// <summary>
/// A ready web app serving models on Kestrel (what `rnnlm serve` runs): the endpoints, request logging, and a graceful stop on SIGTERM or Ctrl+C (running generations are cancelled, their
/// clients get the end of their stream).
/// </summary>
public static class RnnLmHost
{
    /// <summary>urls: e.g. "http://127.0.0.1:5000" (port 0: any free port; read it from the app's Urls after StartAsync).</summary>
    public static WebApplication Build(ModelRegistry models, string urls, RnnLmServerOptions? options = null, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        options ??= new RnnLmServerOptions();
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(RnnLmHost).Assembly.GetName().Name });
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Kestrel's own cap stays above the endpoints' (which answer with a JSON 413 naming the limit).
            k.Limits.MaxRequestBodySize = Math.Max(options.MaxBodyBytes * 2L, 30_000_000);
            k.AddServerHeader = false;
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        if (logging != null) logging(builder.Logging);
        else builder.Logging.AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "HH:mm:ss "; });
        var app = builder.Build();
        app.UseRnnLmRequestLogging();
        app.MapRnnLm(models, options);
        return app;
    }

    /// <summary>The addresses the started app listens on (with the real port when 0 was asked for).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
