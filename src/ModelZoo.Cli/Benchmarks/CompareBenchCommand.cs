using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench compare-page</c>: the compare page with N finished runs of E epochs each, in a real browser.
/// The runs are launched through the portal's own <see cref="RunService"/> on a synthetic dataset and their histories
/// written through its <see cref="RunEventRecorder"/> (steps, epochs, statuses, results), so the page reads exactly
/// what training would have left; the values are generated, since the benchmark measures drawing, not learning. The
/// built portal then serves the page, and Debian's Chromium (headless, driven over the DevTools protocol) loads it:
/// the time is from the navigation until every chart holds every run's trace with every point the server sent
/// (checked against the counts the page states on each chart). Issue 13's target: under 1 s for 50 runs × 100 epochs.
/// </summary>
public static class CompareBenchCommand
{
    public static Command Create()
    {
        var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 50 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 100 };
        var steps = new Option<int>("--steps-per-epoch") { Description = "Recorded steps per epoch (the per-step curves' points).", DefaultValueFactory = _ => 5 };
        var loads = new Option<int>("--loads") { Description = "Page loads after the first (which also fetches and compiles the scripts).", DefaultValueFactory = _ => 5 };
        var web = new Option<string?>("--web") { Description = "The built web portal (default: src/ModelZoo.Web/bin/Release/net10.0/linux-x64/ModelZoo.Web.dll under the repository)." };
        var browser = new Option<string>("--browser") { DefaultValueFactory = _ => "/usr/bin/chromium" };
        var cmd = new Command("compare-page", "The compare page with N runs of E epochs, timed in headless Chromium until every chart is drawn.")
        { runs, epochs, steps, loads, web, browser };
        cmd.SetAction(async (r, ct) =>
        {
            var webDll = r.GetValue(web) ?? Path.Combine(RepoRoot() ?? ".", "src", "ModelZoo.Web", "bin", "Release", "net10.0", "linux-x64", "ModelZoo.Web.dll");
            if (!File.Exists(webDll)) { r.InvocationConfiguration.Error.WriteLine($"No web portal at {webDll}: build it (dotnet build src/ModelZoo.Web -c Release) or pass --web."); return 2; }
            if (!File.Exists(r.GetValue(browser))) { r.InvocationConfiguration.Error.WriteLine($"No browser at {r.GetValue(browser)}: apt-get install chromium, or pass --browser."); return 2; }
            return await RunAsync(webDll, r.GetValue(browser)!, r.GetValue(runs), r.GetValue(epochs), r.GetValue(steps), r.GetValue(loads), r.InvocationConfiguration.Output, ct);
        });
        return cmd;
    }

    static async Task<int> RunAsync(string webDll, string browserPath, int runCount, int epochs, int stepsPerEpoch, int loads, TextWriter o, CancellationToken ct)
    {
        await using var portal = await BenchPortal.StartAsync(threads: 1, worker: false);
        var seed = Stopwatch.StartNew();
        var ids = await SeedRunsAsync(portal, runCount, epochs, stepsPerEpoch, ct);
        o.WriteLine($"seeded {runCount} runs × {epochs} epochs × {stepsPerEpoch} steps through RunService and RunEventRecorder in {seed.Elapsed.TotalSeconds:F1} s");

        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        using var web = StartWeb(webDll, url, portal);
        await WaitUpAsync(url, web, ct);

        var profile = Directory.CreateTempSubdirectory("mz-bench-chromium-").FullName;
        using var chrome = Process.Start(new ProcessStartInfo(browserPath,
            ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", $"--user-data-dir={profile}", "--window-size=1400,1000", "about:blank"])
        { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            var endpoint = await DevToolsEndpointAsync(chrome, ct);
            using var http = new HttpClient();
            var targets = JsonNode.Parse(await http.GetStringAsync(new Uri(new Uri(endpoint.Replace("ws://", "http://")), "/json/list"), ct))!.AsArray();
            var page = targets.First(t => (string?)t!["type"] == "page")!;
            using var cdp = new DevTools();
            await cdp.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), ct);
            await cdp.CallAsync("Page.enable", null, ct);

            var compare = $"{url}/runs/compare?ids={string.Join(',', ids)}";
            o.WriteLine($"page: /runs/compare with {ids.Count} ids; browser: {browserPath} (headless); the first load also fetches and compiles blazor.web.js and plotly.js");
            o.WriteLine();
            o.WriteLine("| load | navigation to every chart drawn (ms) | charts | traces | points |");
            o.WriteLine("| --- | --- | --- | --- | --- |");
            var warm = new List<double>();
            for (var i = 0; i <= loads; i++)
            {
                var (ms, charts, traces, points) = await LoadAsync(cdp, compare, ct);
                if (i > 0) warm.Add(ms);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {(i == 0 ? "first" : i.ToString(CultureInfo.InvariantCulture))} | {ms:F0} | {charts} | {traces} | {points:N0} |"));
            }
            warm.Sort();
            o.WriteLine();
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median of the {warm.Count} later loads: {warm[warm.Count / 2]:F0} ms"));
            return 0;
        }
        finally
        {
            if (!chrome.HasExited) { chrome.Kill(entireProcessTree: true); await chrome.WaitForExitAsync(CancellationToken.None); }
            if (!web.HasExited) { web.Kill(entireProcessTree: true); await web.WaitForExitAsync(CancellationToken.None); }
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Navigates and polls until every chart holds the traces and points its figure says the server sent.</summary>
    static async Task<(double Ms, int Charts, int Traces, long Points)> LoadAsync(DevTools cdp, string url, CancellationToken ct)
    {
        const string Probe = """
            (() => {
              const figs = [...document.querySelectorAll('figure.plotly-curves')];
              if (figs.length === 0) return null;
              let traces = 0, points = 0;
              for (const f of figs) {
                const gd = f.querySelector('.js-plotly-plot');
                const want = +f.dataset.traces, wantPoints = +f.dataset.points;
                if (!gd || !gd.data || gd.data.length !== want) return null;
                const got = gd.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
                if (got !== wantPoints) return null;
                traces += want; points += got;
              }
              return [figs.length, traces, points];
            })()
            """;
        var sw = Stopwatch.StartNew();
        await cdp.CallAsync("Page.navigate", new JsonObject { ["url"] = url }, ct);
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            var result = await cdp.CallAsync("Runtime.evaluate", new JsonObject { ["expression"] = Probe, ["returnByValue"] = true }, ct);
            if (result?["result"]?["value"] is JsonArray done)
                return (sw.Elapsed.TotalMilliseconds, (int)done[0]!, (int)done[1]!, (long)done[2]!);
            await Task.Delay(20, ct);
        }
        throw new TimeoutException("The compare page did not draw every chart within 60 s.");
    }

    /// <summary>Runs on a synthetic dataset, launched through the portal's validation, with a plausible history and a
    /// result (curves that fall and rise with noise, a confusion matrix), written as the worker writes them.</summary>
    static async Task<List<Guid>> SeedRunsAsync(BenchPortal portal, int count, int epochs, int stepsPerEpoch, CancellationToken ct)
    {
        var dataset = portal.WriteImages("bench-compare", train: 20, validation: 10, test: 10, side: 16, classes: 10);
        var runs = portal.Get<RunService>();
        var recorder = portal.Get<RunEventRecorder>();
        var dbs = portal.Get<IDbContextFactory<ZooDbContext>>();
        var ids = new List<Guid>();
        var random = new Random(20261207);
        var strategies = new[] { "feature-extraction", "partial-fine-tune", "full-fine-tune", "scratch" };
        for (var i = 0; i < count; i++)
        {
            var launch = await runs.LaunchAsync(new RunRequest
            {
                ModelId = "resnet18.tv_in1k", DatasetId = dataset.Id, Name = $"bench run {i + 1}", Strategy = strategies[i % strategies.Length],
                HyperParameters = new HyperParameters { Epochs = epochs, Seed = i + 1, LearningRate = 1e-3 * (1 + i % 5) },
            }, ct);
            var id = launch.RunId ?? throw new InvalidOperationException(string.Join("; ", launch.Errors.Select(e => $"{e.Key}: {e.Value}")));
            ids.Add(id);
            var start = DateTimeOffset.UtcNow;
            await recorder.RecordAsync(id, RunEventKind.Status, new StatusChange(RunStatus.Running, "Training", "CPU (bench)"), ct);
            var rate = 0.02 + 0.03 * random.NextDouble();
            for (var e = 1; e <= epochs; e++)
            {
                for (var s = 1; s <= stepsPerEpoch; s++)
                {
                    var global = (e - 1) * stepsPerEpoch + s;
                    var loss = 2.3 * Math.Exp(-rate * global / stepsPerEpoch) + 0.05 * random.NextDouble();
                    recorder.Enqueue(id, RunEventKind.Step, StepProgress.Of(e, s, stepsPerEpoch, global, epochs * stepsPerEpoch, loss,
                        1e-3 * 0.5 * (1 + Math.Cos(Math.PI * global / (epochs * stepsPerEpoch))), 100, null, global * 0.1));
                }
                var acc = 1 - 0.9 * Math.Exp(-rate * e) - 0.02 * random.NextDouble();
                recorder.Enqueue(id, RunEventKind.Epoch, EpochMetrics.Of(e, epochs, 2.3 * Math.Exp(-rate * e), acc, 2.4 * Math.Exp(-rate * e), acc - 0.01, 0.5));
            }
            var testAcc = 0.6 + 0.35 * random.NextDouble();
            await using (var db = await dbs.CreateDbContextAsync(ct))
            {
                var row = await db.Runs.FirstAsync(x => x.Id == id, ct);
                var matrix = Enumerable.Range(0, 10).Select(t => Enumerable.Range(0, 10).Select(p => p == t ? 8 : random.Next(0, 2)).ToList()).ToList();
                row.Status = RunStatus.Succeeded;
                row.StartedAt = start;
                row.FinishedAt = start.AddSeconds(epochs * stepsPerEpoch * 0.1);
                row.Device = "CPU (bench)";
                row.TestAccuracy = testAcc;
                row.TrainSeconds = epochs * stepsPerEpoch * 0.1;
                row.ResultJson = RunJson.Write(new RunResult
                {
                    TestAccuracy = testAcc, MacroF1 = testAcc - 0.02, TestExamples = matrix.Sum(r => r.Sum()), ClassNames = dataset.ClassNames,
                    ConfusionMatrix = matrix.Select(r => (IReadOnlyList<int>)r).ToList(), BestEpoch = epochs, BestValAccuracy = testAcc,
                    TotalParameters = 11_181_642, TrainableParameters = 5_130 + i * 1000,
                });
                await db.SaveChangesAsync(ct);
            }
            await recorder.RecordAsync(id, RunEventKind.Status, new StatusChange(RunStatus.Succeeded, "Finished"), ct);
        }
        return ids;
    }

    static Process StartWeb(string webDll, string url, BenchPortal portal)
    {
        var psi = new ProcessStartInfo("dotnet", [webDll, "--urls", url])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(webDll)!,
        };
        // The same data folder the runs were written into; Development serves the static web assets from the build.
        psi.Environment["Storage__DataDir"] = Path.Combine(portal.Root, "data");
        psi.Environment["Storage__ZooDir"] = Path.Combine(RepoRoot() ?? ".", "zoo");
        psi.Environment["Datasets__FetchOnStartup"] = "false";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    static async Task WaitUpAsync(string url, Process web, CancellationToken ct)
    {
        using var http = new HttpClient();
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (web.HasExited) throw new InvalidOperationException($"The portal exited with {web.ExitCode} before answering.");
            try { if ((await http.GetAsync($"{url}/healthz", ct)).IsSuccessStatusCode) return; } catch (HttpRequestException) { }
            if (sw.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException("The portal did not answer /healthz within 2 minutes.");
            await Task.Delay(250, ct);
        }
    }

    static async Task<string> DevToolsEndpointAsync(Process chrome, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            var line = await chrome.StandardError.ReadLineAsync(ct);
            if (line is null) break;
            var m = Regex.Match(line, @"DevTools listening on (ws://\S+)");
            if (m.Success) return m.Groups[1].Value;
        }
        throw new InvalidOperationException("Chromium did not print its DevTools endpoint.");
    }

    static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    static string? RepoRoot()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ModelZoo.sln"))) return d.FullName;
        return null;
    }

    /// <summary>The few DevTools protocol calls the benchmark needs, over one WebSocket: a call waits for the answer with
    /// its id; events are skipped.</summary>
    sealed class DevTools : IDisposable
    {
        readonly ClientWebSocket _ws = new();
        int _next;

        public Task ConnectAsync(Uri uri, CancellationToken ct) => _ws.ConnectAsync(uri, ct);

        public async Task<JsonNode?> CallAsync(string method, JsonObject? parameters, CancellationToken ct)
        {
            var id = ++_next;
            var message = new JsonObject { ["id"] = id, ["method"] = method };
            if (parameters is not null) message["params"] = parameters;
            await _ws.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, ct);
            var buffer = new byte[1 << 16];
            while (true)
            {
                using var text = new MemoryStream();
                WebSocketReceiveResult r;
                do { r = await _ws.ReceiveAsync(buffer, ct); text.Write(buffer, 0, r.Count); } while (!r.EndOfMessage);
                var node = JsonNode.Parse(text.ToArray());
                if (node?["id"] is { } got && (int)got == id)
                    return node["error"] is { } error ? throw new InvalidOperationException($"{method}: {error.ToJsonString()}") : node["result"];
            }
        }

        public void Dispose() => _ws.Dispose();
    }
}
