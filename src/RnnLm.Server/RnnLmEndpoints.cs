using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RnnLm.Data;
using RnnLm.Generation;

namespace RnnLm.Server;

/// <summary>
/// The HTTP API, mapped into any ASP.NET Core app with <c>app.MapRnnLm(models)</c>:
/// POST /v1/generate (JSON, or server-sent events with "stream": true), POST /v1/score, POST /v1/candidates (the most
/// likely next tokens after a prefix), GET /v1/model, GET /healthz and the playground page at / (under the prefix
/// given). Bodies and replies are snake_case JSON; a refused request gets {"error": {"message", "field"}} with a 4xx.
/// A client that goes away mid-generation cancels it (its session is freed at the next step), as does the app stopping.
/// </summary>
public static class RnnLmEndpoints
{
    private static readonly HashSet<string> GenerateFields =
    [
        "prompt", "max_tokens", "temperature", "top_k", "top_p", "greedy", "beam", "length_penalty", "stop", "seed", "stream",
        "model", "repetition_penalty", "unknown",
    ];
    private static readonly HashSet<string> ScoreFields = ["text", "context", "model", "unknown", "per_token"];
    private static readonly HashSet<string> CandidateFields = ["prompt", "k", "temperature", "model", "unknown"];

    /// <summary>The request field of each GenerationOptions property, so library errors name the field sent.</summary>
    private static readonly Dictionary<string, string> FieldOf = new()
    {
        ["MaxTokens"] = "max_tokens", ["Temperature"] = "temperature", ["TopK"] = "top_k", ["TopP"] = "top_p", ["Stop"] = "stop",
        ["RepetitionPenalty"] = "repetition_penalty", ["Beam"] = "beam", ["LengthPenalty"] = "length_penalty", ["prompt"] = "prompt",
        ["text"] = "text", ["prefix"] = "prompt", ["k"] = "k", ["temperature"] = "temperature",
    };

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Maps the endpoints under prefix (e.g. "" or "/lm"). The models stay the caller's to dispose.</summary>
    public static IEndpointRouteBuilder MapRnnLm(this IEndpointRouteBuilder app, ModelRegistry models, RnnLmServerOptions? options = null,
        string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(models);
        if (models.Names.Count == 0) throw new ArgumentException("models holds no model to serve.", nameof(models));
        options ??= new RnnLmServerOptions();
        options.Validate();
        var limiter = new SessionLimiter(options.MaxSessions);
        var logger = app.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("RnnLm.Server");
        var stopping = app.ServiceProvider.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        var api = new Api(models, options, limiter, logger, stopping);

        app.MapGet(prefix + "/healthz", () => Results.Json(new { status = "ok", models = models.Names.Count, sessions = limiter.Running }, Json));
        app.MapGet(prefix + "/v1/model", (HttpContext c) => api.Run(c, api.ModelFacts));
        app.MapPost(prefix + "/v1/generate", (HttpContext c) => api.Run(c, api.Generate));
        app.MapPost(prefix + "/v1/score", (HttpContext c) => api.Run(c, api.Score));
        app.MapPost(prefix + "/v1/candidates", (HttpContext c) => api.Run(c, api.Candidates));
        if (options.Playground)
        {
            app.MapGet(prefix + "/", () => Asset("index.html", "text/html; charset=utf-8"));
            app.MapGet(prefix + "/playground.css", () => Asset("playground.css", "text/css; charset=utf-8"));
            app.MapGet(prefix + "/playground.js", () => Asset("playground.js", "text/javascript; charset=utf-8"));
        }
        return app;
    }

    /// <summary>Logs every request: method, path, status and time taken (Microsoft.Extensions.Logging, category RnnLm.Server).</summary>
    public static IApplicationBuilder UseRnnLmRequestLogging(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("RnnLm.Server.Requests");
        return app.Use(async (context, next) =>
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                logger.LogInformation("{Method} {Path} {Status} {Ms:F1} ms{Aborted}", context.Request.Method, context.Request.Path,
                    context.Response.StatusCode, Stopwatch.GetElapsedTime(start).TotalMilliseconds,
                    context.RequestAborted.IsCancellationRequested ? " (client gone)" : "");
            }
        });
    }

    private static IResult Asset(string name, string type)
    {
        var stream = typeof(RnnLmEndpoints).Assembly.GetManifestResourceStream("Playground/" + name)
            ?? throw new InvalidOperationException($"the playground's {name} is not embedded in {typeof(RnnLmEndpoints).Assembly.GetName().Name}.");
        return Results.Stream(stream, type);
    }

    private sealed class Api(ModelRegistry models, RnnLmServerOptions options, SessionLimiter limiter, ILogger logger, CancellationToken stopping)
    {
        /// <summary>Runs a handler, turning refusals and bad arguments into JSON errors; the server never fails on input.</summary>
        public async Task Run(HttpContext context, Func<HttpContext, CancellationToken, Task> handler)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            try
            {
                await handler(context, cancel.Token);
            }
            catch (RequestException e)
            {
                await Error(context, e.Status, e.Message, e.Field, e.Status == 429 ? options.RetryAfterSeconds : null);
            }
            catch (ArgumentException e)
            {
                string? field = e.ParamName is string p && FieldOf.TryGetValue(p, out var f) ? f : null;
                string message = e.ParamName is string name ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;
                if (e.ParamName is string n2 && field != null && message.StartsWith(n2, StringComparison.Ordinal)) message = field + message[n2.Length..];
                await Error(context, StatusCodes.Status400BadRequest, message, field);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                logger.LogInformation("{Path}: cancelled ({Reason})", context.Request.Path, context.RequestAborted.IsCancellationRequested ? "client gone" : "shutting down");
                if (!context.Response.HasStarted) context.Response.StatusCode = 499;
            }
            catch (Exception e) when (e is BadHttpRequestException or IOException)
            {
                await Error(context, e is BadHttpRequestException b ? b.StatusCode : 400, e.Message, null);
            }
        }

        private static async Task Error(HttpContext context, int status, string message, string? field, int? retryAfter = null)
        {
            if (context.Response.HasStarted) return;
            context.Response.StatusCode = status;
            if (retryAfter is int s) context.Response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                await context.Response.WriteAsJsonAsync(new { error = new { message, field } }, Json);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException) { }
        }

        private LanguageModel Model(JsonRequest? body, HttpContext c, out string name)
        {
            name = body?.String("model") ?? c.Request.Query["model"].FirstOrDefault() ?? models.DefaultName;
            if (!models.TryGet(name, out var lm))
                throw new RequestException(StatusCodes.Status404NotFound, $"unknown model '{name}'; this server has {string.Join(", ", models.Names)}.", "model");
            return lm;
        }

        private static UnknownHandling Unknown(JsonRequest body) => body.String("unknown") switch
        {
            null or "skip" => UnknownHandling.Skip,
            "replace" => UnknownHandling.Replace,
            "error" => UnknownHandling.Error,
            var other => throw new RequestException(400, $"unknown must be skip, replace or error, got '{other}'.", "unknown"),
        };

        /// <summary>Takes a session slot or refuses with 429.</summary>
        private IDisposable Slot()
        {
            if (!limiter.TryEnter())
                throw new RequestException(StatusCodes.Status429TooManyRequests,
                    $"all {limiter.Limit} sessions are busy; retry in {options.RetryAfterSeconds} s.");
            return new Releaser(limiter);
        }

        private sealed class Releaser(SessionLimiter l) : IDisposable
        {
            private int _done;
            public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) l.Release(); }
        }

        private static object? Unknowns(UnknownCharacters found) =>
            found.Count == 0 ? null : new { count = found.Count, characters = found.Describe() };

        public Task ModelFacts(HttpContext c, CancellationToken cancel)
        {
            bool one = c.Request.Query.ContainsKey("model");
            var names = one ? [Name(c)] : models.Names;
            var list = names.Select(n => Facts(n)).ToList();
            return c.Response.WriteAsJsonAsync(one ? list[0] : new { models = list, @default = models.DefaultName }, Json, cancel);

            string Name(HttpContext ctx) { Model(null, ctx, out var n); return n; }
        }

        private object Facts(string name)
        {
            models.TryGet(name, out var lm);
            var cfg = lm.Model.Config;
            return new
            {
                name,
                tokenizer = lm.Tokenizer.Kind,
                vocab_size = lm.Tokenizer.VocabSize,
                cell = cfg.Cell,
                layers = cfg.NumLayers,
                emb = cfg.EmbDim,
                hidden = cfg.HiddenDim,
                tied = cfg.TieWeights,
                parameters = cfg.ParameterCount(),
                // How it was trained, without the training files' paths (they say nothing to a client about the model).
                training = lm.Options is { } t ? t with { Data = null, Valid = null } : null,
            };
        }

        public async Task Generate(HttpContext c, CancellationToken cancel)
        {
            var body = await JsonRequest.ReadAsync(c.Request, options.MaxBodyBytes, GenerateFields, cancel);
            var lm = Model(body, c, out string name);
            string prompt = body.String("prompt", required: true, maxLength: options.MaxBodyBytes)!;
            var o = new GenerationOptions
            {
                MaxTokens = body.Int("max_tokens", 0, options.MaxTokens) ?? Math.Min(200, options.MaxTokens),
                Temperature = body.Number("temperature") ?? 1f,
                TopK = body.Int("top_k", 0, int.MaxValue) ?? 0,
                TopP = body.Number("top_p") ?? 1f,
                Greedy = body.Bool("greedy") ?? false,
                Beam = body.Int("beam", 1, GenerationOptions.MaxBeam) ?? 1,
                LengthPenalty = body.Number("length_penalty") ?? 1f,
                Stop = body.Strings("stop", 16, 256) ?? [],
                Seed = body.UInt64("seed") ?? 1,
                RepetitionPenalty = body.Number("repetition_penalty") ?? 1f,
                Unknown = UnknownHandling.Error,
            };
            bool stream = body.Bool("stream") ?? false;
            o.Validate();
            var found = new UnknownCharacters();
            prompt = lm.Generator.PreparePrompt(prompt, Unknown(body), found);
            using var slot = Slot();
            if (!stream)
            {
                var r = await Task.Run(() => lm.Complete(prompt, o, cancel), cancel);
                await c.Response.WriteAsJsonAsync(new
                {
                    model = name, text = r.Text, tokens = r.Tokens, finish_reason = r.Finish, logprob = r.LogProb, unknown = Unknowns(found),
                }, Json, cancel);
                return;
            }
            // Server-sent events: one "data" event per piece of text, then an event "done" with the totals.
            GenerationResult result;
            if (o.Beam > 1)
            {
                result = await Task.Run(() => lm.Complete(prompt, o, cancel), cancel);
                StartEvents(c);
                if (result.Text.Length > 0) await Event(c, null, new { text = result.Text }, cancel);
            }
            else
            {
                using var g = await Task.Run(() => lm.Generator.Start(prompt, o, cancel), cancel);
                StartEvents(c);
                while (!g.IsFinished)
                {
                    cancel.ThrowIfCancellationRequested();
                    string piece = g.Next();
                    if (piece.Length > 0) await Event(c, null, new { text = piece }, cancel);
                    // Back of the thread pool's queue after each token: concurrent streams take turns, so a new request's
                    // first token does not wait for running ones to finish (or for the pool to add threads).
                    await Task.Yield();
                }
                result = g.Result();
            }
            await Event(c, "done", new
            {
                model = name, tokens = result.Tokens, finish_reason = result.Finish, logprob = result.LogProb, unknown = Unknowns(found),
            }, cancel);
        }

        private static void StartEvents(HttpContext c)
        {
            c.Response.ContentType = "text/event-stream";
            c.Response.Headers.CacheControl = "no-cache";
            c.Response.Headers["X-Accel-Buffering"] = "no";
        }

        private static async Task Event(HttpContext c, string? name, object data, CancellationToken cancel)
        {
            string json = JsonSerializer.Serialize(data, Json);
            string text = (name != null ? $"event: {name}\n" : "") + $"data: {json}\n\n";
            await c.Response.WriteAsync(text, cancel);
            await c.Response.Body.FlushAsync(cancel);
        }

        public async Task Score(HttpContext c, CancellationToken cancel)
        {
            var body = await JsonRequest.ReadAsync(c.Request, options.MaxBodyBytes, ScoreFields, cancel);
            var lm = Model(body, c, out string name);
            string text = body.String("text", required: true)!;
            var context = body.String("context") switch
            {
                null => lm.Options?.Mode == RnnLm.Training.DataMode.Stream ? ScoreContext.Carried : ScoreContext.Zero,
                "zero" => ScoreContext.Zero,
                "carried" => ScoreContext.Carried,
                var other => throw new RequestException(400, $"context must be zero or carried, got '{other}'.", "context"),
            };
            bool perToken = body.Bool("per_token") ?? false;
            var found = new UnknownCharacters();
            var handling = Unknown(body);
            using var slot = Slot();
            var lines = await Task.Run(() => lm.ScoreLines(text, context, handling, found, cancel).ToList(), cancel);
            int tokens = lines.Sum(l => l.Tokens.Count);
            double sum = lines.Sum(l => l.LogProb);
            await c.Response.WriteAsJsonAsync(new
            {
                model = name,
                context,
                lines = lines.Select(l => new
                {
                    text = l.Text, tokens = l.Tokens.Count, logprob = l.LogProb, ppl = Finite(l.Perplexity),
                    token_logprobs = perToken ? l.Tokens.Select(t => new { token = t.Text, logprob = t.LogProb }) : null,
                }),
                tokens,
                logprob = sum,
                ppl = tokens == 0 ? null : Finite(Math.Exp(-sum / tokens)),
                unknown = Unknowns(found),
            }, Json, cancel);
        }

        private static double? Finite(double x) => double.IsFinite(x) ? x : null;

        public async Task Candidates(HttpContext c, CancellationToken cancel)
        {
            var body = await JsonRequest.ReadAsync(c.Request, options.MaxBodyBytes, CandidateFields, cancel);
            var lm = Model(body, c, out string name);
            string prompt = body.String("prompt", required: true)!;
            int k = body.Int("k", 1, options.MaxCandidates) ?? 10;
            float temperature = body.Number("temperature") ?? 1f;
            var found = new UnknownCharacters();
            prompt = lm.Generator.PreparePrompt(prompt, Unknown(body), found);
            using var slot = Slot();
            var list = await Task.Run(() => lm.Candidates(prompt, k, temperature), cancel);
            await c.Response.WriteAsJsonAsync(new
            {
                model = name,
                candidates = list.Select(x => new { id = x.Id, token = x.Text, probability = x.Probability }),
                unknown = Unknowns(found),
            }, Json, cancel);
        }
    }
}
