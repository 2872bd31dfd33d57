using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RnnLm.Generation;
using RnnLm.Server;

namespace RnnLm.Tests.Serving;

/// <summary>The HTTP API on a real Kestrel: good requests give the library's results, bad ones a 4xx naming the field.</summary>
public class ServerTests
{
    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonElement Json)> Post(HttpClient client, string path, string json)
    {
        using var r = await client.PostAsync(path, Body(json));
        string text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Reads a server-sent event stream: the text of the data events, and the done event's data.</summary>
    private static async Task<(string Text, JsonElement Done)> ReadEvents(HttpResponseMessage response)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        string? ev = null;
        while (await reader.ReadLineAsync() is string line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) ev = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var data = JsonDocument.Parse(line[6..]).RootElement.Clone();
                if (ev == "done") return (text.ToString(), data);
                text.Append(data.GetProperty("text").GetString());
            }
        }
        throw new InvalidDataException("the stream ended without a done event");
    }

    [Fact]
    public async Task GenerateReplyAndStreamAreTheLibrarysResult()
    {
        await using var s = new TestServer();
        var expected = s.A.Complete("the ", new GenerationOptions { MaxTokens = 40, Seed = 5, Temperature = 0.7f, TopK = 8, Stop = ["og"] });
        var (status, json) = await Post(s.Client, "/v1/generate", """{"prompt":"the ","max_tokens":40,"seed":5,"temperature":0.7,"top_k":8,"stop":["og"]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(expected.Text, json.GetProperty("text").GetString());
        Assert.Equal(expected.Tokens, json.GetProperty("tokens").GetInt32());
        Assert.Equal(expected.Finish == FinishReason.Stop ? "stop" : "length", json.GetProperty("finish_reason").GetString());

        using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/generate")
        { Content = Body("""{"prompt":"the ","max_tokens":40,"seed":5,"temperature":0.7,"top_k":8,"stop":"og","stream":true}""") };
        using var r = await s.Client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType?.MediaType);
        var (text, done) = await ReadEvents(r);
        Assert.Equal(expected.Text, text);
        Assert.Equal(expected.Tokens, done.GetProperty("tokens").GetInt32());

        var beam = s.A.Complete("the ", new GenerationOptions { MaxTokens = 12, Beam = 4 });
        var (_, b) = await Post(s.Client, "/v1/generate", """{"prompt":"the ","max_tokens":12,"beam":4}""");
        Assert.Equal(beam.Text, b.GetProperty("text").GetString());
    }

    [Fact]
    public async Task ScoreCandidatesModelAndHealthAnswer()
    {
        await using var s = new TestServer();
        var lines = s.A.ScoreLines("the cat\nthe dog\n", ScoreContext.Carried).ToList();
        var (st, score) = await Post(s.Client, "/v1/score", """{"text":"the cat\nthe dog\n","context":"carried","per_token":true}""");
        Assert.Equal(HttpStatusCode.OK, st);
        Assert.Equal(lines.Sum(l => l.LogProb), score.GetProperty("logprob").GetDouble(), 1e-9);
        Assert.Equal(lines[1].Tokens.Count, score.GetProperty("lines")[1].GetProperty("token_logprobs").GetArrayLength());

        var cands = s.A.Candidates("the c", 4, 0.8f);
        var (_, c) = await Post(s.Client, "/v1/candidates", """{"prompt":"the c","k":4,"temperature":0.8}""");
        Assert.Equal(cands.Select(x => x.Text), c.GetProperty("candidates").EnumerateArray().Select(x => x.GetProperty("token").GetString()));

        var model = JsonDocument.Parse(await s.Client.GetStringAsync("/v1/model")).RootElement;
        Assert.Equal("a", model.GetProperty("default").GetString());
        Assert.Equal(["a", "b"], model.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        var b = JsonDocument.Parse(await s.Client.GetStringAsync("/v1/model?model=b")).RootElement;
        Assert.Equal("word", b.GetProperty("tokenizer").GetString());
        Assert.Equal(s.Models.TryGet("b", out var lmB) ? lmB.Tokenizer.VocabSize : -1, b.GetProperty("vocab_size").GetInt32());
        var (_, fromB) = await Post(s.Client, "/v1/generate", """{"prompt":"the","max_tokens":5,"model":"b","seed":2}""");
        Assert.Equal(lmB.Complete("the", new GenerationOptions { MaxTokens = 5, Seed = 2 }).Text, fromB.GetProperty("text").GetString());
        Assert.Contains("\"ok\"", await s.Client.GetStringAsync("/healthz"));
    }

    [Theory]
    [InlineData("/v1/generate", """{"prompt":"a","max_tokens":-1}""", 400, "max_tokens")]
    [InlineData("/v1/generate", """{"prompt":"a","max_tokens":100000}""", 400, "max_tokens")]
    [InlineData("/v1/generate", """{"prompt":"a","temprature":1}""", 400, "temprature")]
    [InlineData("/v1/generate", """{"prompt":"a","temperature":0}""", 400, "temperature")]
    [InlineData("/v1/generate", """{"prompt":"a","top_p":1.5}""", 400, "top_p")]
    [InlineData("/v1/generate", """{"prompt":"a","top_k":"5"}""", 400, "top_k")]
    [InlineData("/v1/generate", """{"prompt":"a","beam":65}""", 400, "beam")]
    [InlineData("/v1/generate", """{"prompt":"a","stop":["x",""]}""", 400, "stop")]
    [InlineData("/v1/generate", """{"prompt":"a","seed":-3}""", 400, "seed")]
    [InlineData("/v1/generate", """{"prompt":"a","stream":"yes"}""", 400, "stream")]
    [InlineData("/v1/generate", """{"prompt":"a","model":"zz"}""", 404, "model")]
    [InlineData("/v1/generate", """{"prompt":"a€","unknown":"error"}""", 400, "prompt")]
    [InlineData("/v1/generate", """{"prompt":"a","unknown":"drop"}""", 400, "unknown")]
    [InlineData("/v1/generate", """{"max_tokens":3}""", 400, "prompt")]
    [InlineData("/v1/generate", """{"prompt":"a",""", 400, null)]
    [InlineData("/v1/generate", """[1,2]""", 400, null)]
    [InlineData("/v1/generate", "", 400, null)]
    [InlineData("/v1/score", """{"text":"a","context":"both"}""", 400, "context")]
    [InlineData("/v1/score", """{"txt":"a"}""", 400, "txt")]
    [InlineData("/v1/candidates", """{"prompt":"a","k":0}""", 400, "k")]
    [InlineData("/v1/candidates", """{"prompt":"a","k":51}""", 400, "k")]
    public async Task ABadRequestGetsA4xxNamingTheField(string path, string json, int status, string? field)
    {
        await using var s = new TestServer();
        using var r = await s.Client.PostAsync(path, Body(json));
        Assert.Equal(status, (int)r.StatusCode);
        var error = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        if (field != null)
        {
            Assert.Equal(field, error.GetProperty("field").GetString());
            Assert.Contains(field, error.GetProperty("message").GetString());
        }
        // The server is still well.
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task ABodyTooLargeOrNotJsonIsRefused()
    {
        await using var s = new TestServer(new RnnLmServerOptions { MaxBodyBytes = 1000 });
        using var big = await s.Client.PostAsync("/v1/generate", Body("{\"prompt\":\"" + new string('a', 2000) + "\"}"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Contains("1000", await big.Content.ReadAsStringAsync());
        using var form = await s.Client.PostAsync("/v1/generate", new StringContent("prompt=a", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
    }

    [Fact]
    public async Task BeyondTheSessionLimitA429WithRetryAfterAndAClientThatLeavesFreesItsSession()
    {
        await using var s = new TestServer(new RnnLmServerOptions { MaxSessions = 1, RetryAfterSeconds = 2 });
        var req = new HttpRequestMessage(HttpMethod.Post, "/v1/generate") { Content = Body("""{"prompt":"the ","max_tokens":4096,"stream":true}""") };
        var r = await s.Client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        var stream = await r.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        Assert.True(await stream.ReadAsync(buffer) > 0); // tokens are arriving
        Assert.Equal(1, s.A.ActiveSessions);
        using (var busy = await s.Client.PostAsync("/v1/generate", Body("""{"prompt":"a","max_tokens":2}""")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, busy.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(2), busy.Headers.RetryAfter?.Delta);
        }
        // The client goes away mid-stream: its generation is cancelled and the session freed.
        stream.Dispose();
        r.Dispose();
        var until = DateTime.UtcNow.AddSeconds(20);
        while (s.A.ActiveSessions > 0 && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.Equal(0, s.A.ActiveSessions);
        HttpStatusCode after = default;
        for (int i = 0; i < 100 && after != HttpStatusCode.OK; i++)
        {
            using var again = await s.Client.PostAsync("/v1/generate", Body("""{"prompt":"a","max_tokens":2}"""));
            after = again.StatusCode;
            if (after != HttpStatusCode.OK) await Task.Delay(20);
        }
        Assert.Equal(HttpStatusCode.OK, after);
    }

    [Fact]
    public async Task ConcurrentStreamsEachGetTheOutputOfTheRequestAlone()
    {
        await using var s = new TestServer();
        string Json(int i) => $$"""{"prompt":"the ","max_tokens":50,"seed":{{i}},"temperature":0.8,"stream":true}""";
        async Task<string> One(int i)
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/generate") { Content = Body(Json(i)) };
            using var r = await s.Client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
            return (await ReadEvents(r)).Text;
        }
        var alone = new List<string>();
        for (int i = 0; i < 6; i++) alone.Add(await One(i));
        var together = await Task.WhenAll(Enumerable.Range(0, 6).Select(One));
        Assert.Equal(alone, together);
        Assert.True(alone.Distinct().Count() > 3);
    }

    [Fact]
    public async Task ThePlaygroundIsServedFromTheAssembly()
    {
        await using var s = new TestServer();
        using var page = await s.Client.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("playground.js", html);
        Assert.DoesNotContain("https://", html); // nothing from a CDN
        Assert.Contains("/v1/candidates", await s.Client.GetStringAsync("/playground.js"));
    }
}
