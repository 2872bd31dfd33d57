using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using RnnLm.Server;
using RnnLm.Training;

namespace RnnLm.BrowserTests;

/// <summary>
/// The playground in a real browser: Debian's chromium, headless, driven by Playwright (the system browser, none
/// downloaded). Types a prompt, generates, sees tokens stream in, moves a slider and sees the candidates chart;
/// saves the screenshot of the README (docs/playground.png).
/// </summary>
public class PlaygroundTests
{
    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "RnnLm.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("the repository root (RnnLm.slnx) was not found above the test binaries");
    }

    /// <summary>The system chromium: RNNLM_CHROMIUM, else chromium or chromium-browser on the PATH.</summary>
    private static string Chromium()
    {
        if (Environment.GetEnvironmentVariable("RNNLM_CHROMIUM") is { Length: > 0 } given) return given;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            foreach (var name in new[] { "chromium", "chromium-browser" })
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        throw new InvalidOperationException("no chromium on the PATH: install Debian's (apt-get install -y chromium) or set RNNLM_CHROMIUM.");
    }

    /// <summary>A small character model of the start of Tiny Shakespeare (../shared/data), trained for a few seconds.</summary>
    private static LanguageModel TrainModel(string outDir)
    {
        string corpus = Path.Combine(RepositoryRoot(), "..", "shared", "data", "tinyshakespeare", "input.txt");
        string text = RnnLm.Data.CorpusReader.ReadText(corpus)[..100_000];
        var options = new TrainingOptions
        {
            Tokenizer = "char", Mode = DataMode.Stream, Emb = 16, Hidden = 64, Layers = 1, Ctx = 32, Batch = 16, Steps = 120, Threads = 1,
            Lr = 5e-3, Seed = 3,
        };
        return LanguageModel.Train(text, null, options, outDir);
    }

    [Fact]
    public async Task APromptStreamsTokensAndASliderRedrawsTheCandidatesChart()
    {
        string dir = Directory.CreateTempSubdirectory("rnnlm-browser-").FullName;
        try
        {
            using var models = new ModelRegistry();
            var lm = TrainModel(Path.Combine(dir, "shakespeare"));
            models.Add("shakespeare", lm);
            await using var app = RnnLmHost.Build(models, "http://127.0.0.1:0", logging: l => l.SetMinimumLevel(LogLevel.Warning));
            await app.StartAsync();
            string url = RnnLmHost.Addresses(app)[0];

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium(), Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 820 } });
            await page.GotoAsync(url + "/");
            await Assertions.Expect(page.Locator("#facts")).ToContainTextAsync("parameters");

            // Count tokens as they arrive, and how many arrived while the generation was still running.
            await page.EvaluateAsync("""
                () => {
                  window.arrivals = { whileRunning: 0, total: 0 };
                  new MutationObserver(records => {
                    for (const r of records) for (const n of r.addedNodes)
                      if (n.classList && n.classList.contains('token')) {
                        window.arrivals.total++;
                        if (!document.getElementById('stop').disabled) window.arrivals.whileRunning++;
                      }
                  }).observe(document.getElementById('output'), { childList: true });
                }
                """);
            await page.Locator("#prompt").FillAsync("ROMEO:\n");
            await page.Locator("#max-tokens").FillAsync("400");
            await page.Locator("#temperature").FillAsync("0.6");
            await page.Locator("#generate").ClickAsync();
            await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("400 tokens", new() { Timeout = 60_000 });
            int whileRunning = await page.EvaluateAsync<int>("() => window.arrivals.whileRunning");
            int total = await page.EvaluateAsync<int>("() => window.arrivals.total");
            Assert.True(total > 50, $"{total} token events");
            Assert.True(whileRunning > 50, $"only {whileRunning} of {total} tokens arrived while the generation ran");
            string output = await page.Locator("#output").InnerTextAsync();
            Assert.StartsWith("ROMEO:\n", output);
            Assert.True(output.Length > 300, output);

            // Move the temperature slider: the label and the chart follow, with the model's candidates after the cursor.
            await page.Locator("#prompt").FocusAsync();
            await page.Keyboard.PressAsync("End");
            await page.Locator("#temperature").FillAsync("0.3");
            await Assertions.Expect(page.Locator("#temperature-value")).ToHaveTextAsync("0.30");
            var expected = lm.Candidates("ROMEO:\n", 10, 0.3f);
            string first = "'" + expected[0].Text.Replace("\n", "\\n") + "'";
            var bars = page.Locator("#chart .bar");
            await Assertions.Expect(bars).ToHaveCountAsync(10);
            await Assertions.Expect(bars.First.Locator(".label")).ToHaveTextAsync(first);
            await Assertions.Expect(bars.First.Locator(".p")).ToHaveTextAsync($"{100 * expected[0].Probability:F1}%".Replace(',', '.'));

            // Point at a generated token: the chart shows the candidates at that position.
            await page.Locator("#output .token").Nth(20).HoverAsync();
            await Assertions.Expect(page.Locator("#chart-where")).ToContainTextAsync("before");

            // docs/playground.png (the README's) is written when missing or with RNNLM_UPDATE_SCREENSHOT=1, so that
            // test runs leave the checkout as it was; otherwise the screenshot goes beside the test binaries.
            string docsShot = Path.Combine(RepositoryRoot(), "docs", "playground.png");
            bool update = !File.Exists(docsShot) || Environment.GetEnvironmentVariable("RNNLM_UPDATE_SCREENSHOT") == "1";
            string shot = update ? docsShot : Path.Combine(AppContext.BaseDirectory, "playground.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot + ".tmp.png" });
            File.Move(shot + ".tmp.png", shot, overwrite: true);
            Assert.True(new FileInfo(shot).Length > 10_000);
            await app.StopAsync();
            models.Dispose();
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
