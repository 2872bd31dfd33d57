using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using RnnLm.Server;

// Load benchmark of the streaming API: N clients at once each stream one generation (max_tokens, seed 1000 + i);
// reports total tokens/s, p50/p99 over clients of the time to the first token and of the mean time per token after it,
// the p99 gap between two events as the client reads them (events that arrive together read as a gap of 0), and checks that every client's
// text equals the same request made alone. Serves the model in-process on a loopback port unless --url is given.
//   dotnet run -c Release --project bench/RnnLm.ServeBench -- --model runs/x [--clients 1,4,16] [--tokens 200] [--url http://host:port]
var inv = CultureInfo.InvariantCulture;
string? model = null, url = null;
int[] clients = [1, 4, 16];
int tokens = 200, rounds = 1;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--model": model = Next(); break;
        case "--url": url = Next().TrimEnd('/'); break;
        case "--clients": clients = Next().Split(',').Select(s => int.Parse(s, inv)).ToArray(); break;
        case "--tokens": tokens = int.Parse(Next(), inv); break;
        case "--rounds": rounds = int.Parse(Next(), inv); break;
        default: Console.Error.WriteLine($"error: unknown option {args[i]}; see the comment at the top of Program.cs."); return 2;
    }
}
if (model == null && url == null) { Console.Error.WriteLine("error: give --model DIR (served in-process) or --url of a running rnnlm serve."); return 2; }

Microsoft.AspNetCore.Builder.WebApplication? app = null;
ModelRegistry? registry = null;
if (url == null)
{
    registry = ModelRegistry.Load([model!]);
    app = RnnLmHost.Build(registry, "http://127.0.0.1:0", new RnnLmServerOptions { MaxSessions = clients.Max() }, l => l.SetMinimumLevel(LogLevel.Warning));
    await app.StartAsync();
    url = RnnLmHost.Addresses(app)[0];
}
using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(10) };
http.DefaultRequestHeaders.ConnectionClose = false;

async Task<Run> Stream(int seed)
{
    string body = $$"""{"prompt":"ROMEO:\n","max_tokens":{{tokens}},"temperature":0.8,"seed":{{seed}},"stream":true}""";
    var sw = Stopwatch.StartNew();
    using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/generate") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    using var r = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
    r.EnsureSuccessStatusCode();
    using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
    var text = new StringBuilder();
    var times = new List<double>();
    int count = 0;
    string? ev = null;
    while (await reader.ReadLineAsync() is string line)
    {
        if (line.StartsWith("event: ", StringComparison.Ordinal)) ev = line[7..];
        else if (line.StartsWith("data: ", StringComparison.Ordinal))
        {
            using var doc = JsonDocument.Parse(line[6..]);
            if (ev == "done") { count = doc.RootElement.GetProperty("tokens").GetInt32(); break; }
            times.Add(sw.Elapsed.TotalMilliseconds);
            text.Append(doc.RootElement.GetProperty("text").GetString());
        }
    }
    return new Run(text.ToString(), count, times);
}

static double Percentile(List<double> xs, double p)
{
    if (xs.Count == 0) return double.NaN;
    var s = xs.Order().ToList();
    return s[(int)Math.Min(s.Count - 1, Math.Ceiling(p * s.Count) - 1)];
}

await Stream(1); // warm-up
var alone = new Dictionary<int, string>();
for (int i = 0; i < clients.Max(); i++) alone[1000 + i] = (await Stream(1000 + i)).Text;

Console.WriteLine($"model {model ?? url}, {tokens} tokens per client, {Environment.ProcessorCount} cores, {rounds} round(s) each");
Console.WriteLine("| clients | tokens/s (all clients) | tokens/s per client | first token p50 / p99 (ms) | per token p50 / p99 (ms) | gap between reads p99 (ms) | outputs equal alone |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|:---:|");
foreach (int n in clients)
{
    var first = new List<double>();
    var gaps = new List<double>();
    var perToken = new List<double>(); // each client's mean time per token after the first
    long total = 0;
    double wall = 0;
    int equal = 0, all = 0;
    for (int round = 0; round < rounds; round++)
    {
        var sw = Stopwatch.StartNew();
        var runs = await Task.WhenAll(Enumerable.Range(0, n).Select(i => Task.Run(() => Stream(1000 + i))));
        wall += sw.Elapsed.TotalSeconds;
        for (int i = 0; i < n; i++)
        {
            var run = runs[i];
            total += run.Tokens;
            if (run.Times.Count > 0) first.Add(run.Times[0]);
            for (int k = 1; k < run.Times.Count; k++) gaps.Add(run.Times[k] - run.Times[k - 1]);
            if (run.Times.Count > 1) perToken.Add((run.Times[^1] - run.Times[0]) / (run.Times.Count - 1));
            all++;
            if (run.Text == alone[1000 + i]) equal++;
        }
    }
    Console.WriteLine(string.Format(inv, "| {0} | {1:F0} | {2:F0} | {3:F1} / {4:F1} | {5:F3} / {6:F3} | {7:F1} | {8}/{9} |", n, total / wall, total / wall / n,
        Percentile(first, 0.5), Percentile(first, 0.99), Percentile(perToken, 0.5), Percentile(perToken, 0.99), Percentile(gaps, 0.99), equal, all));
}
if (app != null) { await app.StopAsync(); registry!.Dispose(); }
return 0;

internal sealed record Run(string Text, int Tokens, List<double> Times);
