using System.CommandLine;
using Microsoft.Extensions.Hosting;
using RnnLm.Server;
using static RnnLm.Cli.CliOption;

namespace RnnLm.Cli;

/// <summary>`rnnlm serve`: the HTTP API and the playground page for one or more models, until SIGTERM or Ctrl+C.</summary>
public static class ServeCommand
{
    /// <summary>The library's limits, which the options take as defaults (and the help quotes).</summary>
    private static readonly RnnLmServerOptions Defaults = new();

    private static readonly Option<string[]> Model = new("--model")
    { Description = "A run folder or checkpoint to serve (repeatable; the first is the default, each is named after its folder).", Required = true };
    private static readonly Option<int> Port = Opt("--port", "The TCP port (0: any free port).", 5000);
    private static readonly Option<string> Host = Opt("--host", "The address to listen on (0.0.0.0 for every interface).", "127.0.0.1");
    private static readonly Option<string> Precision = PrecisionOption.Create();

    /// <summary>Every option of serve, in the help's order, with the RnnLmServerOptions property each limit sets.</summary>
    private static readonly OptionTable<RnnLmServerOptions> Table = new()
    {
        Model,
        Port,
        Host,
        { Opt("--max-sessions", "Generations and scorings at once; more requests get 429 with Retry-After.", Defaults.MaxSessions),
            nameof(RnnLmServerOptions.MaxSessions), (o, v) => o with { MaxSessions = v } },
        { Opt("--max-tokens", "The largest max_tokens a request may ask for.", Defaults.MaxTokens),
            nameof(RnnLmServerOptions.MaxTokens), (o, v) => o with { MaxTokens = v } },
        { Opt("--max-body", "The largest request body, in bytes.", Defaults.MaxBodyBytes),
            nameof(RnnLmServerOptions.MaxBodyBytes), (o, v) => o with { MaxBodyBytes = v } },
        Precision,
    };

    /// <summary>The properties the table sets, for tests that compare them with the library's defaults.</summary>
    public static IEnumerable<string> BoundProperties => Table.Properties;

    /// <summary>The limits given (the library's where not), each checked by its flag.</summary>
    public static RnnLmServerOptions ReadLimits(ParseResult r)
    {
        var limits = Table.Apply(r, Defaults);
        if (limits.MaxSessions < 1) throw new UsageException($"--max-sessions must be at least 1, got {limits.MaxSessions}.");
        if (limits.MaxTokens < 1) throw new UsageException($"--max-tokens must be at least 1, got {limits.MaxTokens}.");
        if (limits.MaxBodyBytes < 1) throw new UsageException($"--max-body must be at least 1, got {limits.MaxBodyBytes}.");
        return limits;
    }

    public static Command Create()
    {
        var cmd = Table.Command("serve", "Serve models over HTTP: POST /v1/generate, /v1/score, /v1/candidates; GET /v1/model, /healthz; a playground at /.");
        cmd.SetAction(r => Program.Guard(() =>
        {
            int p = r.GetValue(Port);
            if (p < 0 || p > 65535) throw new UsageException($"--port must be in [0, 65535], got {p}.");
            string h = r.GetValue(Host)!;
            if (h.Length == 0 || h.Any(char.IsWhiteSpace) || h.Contains('/')) throw new UsageException($"--host must be an address or a host name, got '{h}'.");
            var limits = ReadLimits(r);
            var prec = PrecisionOption.Parse(r.GetValue(Precision)!);
            using var models = ModelRegistry.Load(r.GetValue(Model)!, prec);
            string address = h.Contains(':') && !h.StartsWith('[') ? $"[{h}]" : h;
            var app = RnnLmHost.Build(models, $"http://{address}:{p}", limits);
            try
            {
                app.Start();
            }
            catch (IOException e)
            {
                throw new UsageException($"cannot listen on {h}:{p}: {e.Message}");
            }
            foreach (var name in models.Names)
            {
                models.TryGet(name, out var lm);
                var c = lm.Model.Config;
                Console.WriteLine($"model {name}: {c.Cell.ToString().ToLowerInvariant()} {c.NumLayers}x{c.HiddenDim}, {lm.Tokenizer.Kind} vocabulary of {lm.Tokenizer.VocabSize}");
            }
            foreach (var url in RnnLmHost.Addresses(app)) Console.WriteLine($"listening on {url} (playground: {url}/); Ctrl+C to stop");
            Console.Out.Flush();
            app.WaitForShutdown();
            ((IDisposable)app).Dispose();
            return 0;
        }));
        return cmd;
    }
}
