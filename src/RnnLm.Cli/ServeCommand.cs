using System.CommandLine;
using Microsoft.Extensions.Hosting;
using RnnLm.Server;

namespace RnnLm.Cli;

/// <summary>`rnnlm serve`: the HTTP API and the playground page for one or more models, until SIGTERM or Ctrl+C.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string[]>("--model")
        { Description = "A run folder or checkpoint to serve (repeatable; the first is the default, each is named after its folder).", Required = true };
        var port = new Option<int>("--port") { Description = "The TCP port (0: any free port).", DefaultValueFactory = _ => 5000 };
        var host = new Option<string>("--host") { Description = "The address to listen on (0.0.0.0 for every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var maxSessions = new Option<int>("--max-sessions")
        { Description = "Generations and scorings at once; more requests get 429 with Retry-After.", DefaultValueFactory = _ => 16 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "The largest max_tokens a request may ask for.", DefaultValueFactory = _ => 4096 };
        var maxBody = new Option<int>("--max-body") { Description = "The largest request body, in bytes.", DefaultValueFactory = _ => 1 << 20 };
        var precision = PrecisionOption.Create();
        var cmd = new Command("serve", "Serve models over HTTP: POST /v1/generate, /v1/score, /v1/candidates; GET /v1/model, /healthz; a playground at /.")
        { model, port, host, maxSessions, maxTokens, maxBody, precision };
        cmd.SetAction(r => Program.Guard(() =>
        {
            int p = r.GetValue(port);
            if (p < 0 || p > 65535) throw new UsageException($"--port must be in [0, 65535], got {p}.");
            string h = r.GetValue(host)!;
            if (h.Length == 0 || h.Any(char.IsWhiteSpace) || h.Contains('/')) throw new UsageException($"--host must be an address or a host name, got '{h}'.");
            var limits = new RnnLmServerOptions { MaxSessions = r.GetValue(maxSessions), MaxTokens = r.GetValue(maxTokens), MaxBodyBytes = r.GetValue(maxBody) };
            if (limits.MaxSessions < 1) throw new UsageException($"--max-sessions must be at least 1, got {limits.MaxSessions}.");
            if (limits.MaxTokens < 1) throw new UsageException($"--max-tokens must be at least 1, got {limits.MaxTokens}.");
            if (limits.MaxBodyBytes < 1) throw new UsageException($"--max-body must be at least 1, got {limits.MaxBodyBytes}.");
            var prec = PrecisionOption.Parse(r.GetValue(precision)!);
            using var models = ModelRegistry.Load(r.GetValue(model)!, prec);
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
