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
/// (checked against the counts the page states on each chart), and the parallel coordinates hold a line per finished
/// run on every axis. Issue 13's target: under 1 s for 50 runs × 100 epochs.
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
        var profile = new Option<bool>("--profile") { Description = "Also record the browser's CPU profile of the last load and print the functions that took the most time." };
        var cmd = new Command("compare-page", "The compare page with N runs of E epochs, timed in headless Chromium until every chart is drawn.")
        { runs, epochs, steps, loads, web, browser, profile };
        cmd.SetAction(async (r, ct) =>
        {
            var webDll = r.GetValue(web) ?? Path.Combine(RepoRoot() ?? ".", "src", "ModelZoo.Web", "bin", "Release", "net10.0", "linux-x64", "ModelZoo.Web.dll");
            if (!File.Exists(webDll)) { r.InvocationConfiguration.Error.WriteLine($"No web portal at {webDll}: build it (dotnet build src/ModelZoo.Web -c Release) or pass --web."); return 2; }
            if (!File.Exists(r.GetValue(browser))) { r.InvocationConfiguration.Error.WriteLine($"No browser at {r.GetValue(browser)}: apt-get install chromium, or pass --browser."); return 2; }
            return await RunAsync(webDll, r.GetValue(browser)!, r.GetValue(runs), r.GetValue(epochs), r.GetValue(steps), r.GetValue(loads), r.GetValue(profile), r.InvocationConfiguration.Output, ct);
        });
        return cmd;
    }

    static async Task<int> RunAsync(string webDll, string browserPath, int runCount, int epochs, int stepsPerEpoch, int loads, bool cpuProfile, TextWriter o, CancellationToken ct)
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
            await cdp.CallAsync("Performance.enable", null, ct);

            var compare = $"{url}/runs/compare?ids={string.Join(',', ids)}";
            o.WriteLine($"page: /runs/compare with {ids.Count} ids; browser: {browserPath} (headless); the first load also fetches and compiles blazor.web.js and plotly.js");
            o.WriteLine();
            o.WriteLine("| load | navigation to every chart drawn (ms) | page received | circuit asked for | plotly.js received | charts | traces | points |");
            o.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            var warm = new List<double>();
            IReadOnlyDictionary<string, double> lastChartAt = new Dictionary<string, double>();
            IReadOnlyList<string> hottest = [];
            for (var i = 0; i <= loads; i++)
            {
                var profiling = cpuProfile && i == loads;
                if (profiling)
                {
                    await cdp.CallAsync("Profiler.enable", null, ct);
                    await cdp.CallAsync("Profiler.setSamplingInterval", new JsonObject { ["interval"] = 500 }, ct);
                    await cdp.CallAsync("Profiler.start", null, ct);
                }
                var (ms, charts, traces, points, chartAt) = await LoadAsync(cdp, compare, ct);
                if (profiling) hottest = Hottest((await cdp.CallAsync("Profiler.stop", null, ct))!["profile"]!);
                if (i > 0) warm.Add(ms);
                lastChartAt = chartAt;
                var (html, negotiate, plotly) = await MilestonesAsync(cdp, ct);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {(i == 0 ? "first" : i.ToString(CultureInfo.InvariantCulture))} | {ms:F0} | {html:F0} | {negotiate:F0} | {plotly:F0} | {charts} | {traces} | {points:N0} |"));
            }
            warm.Sort();
            o.WriteLine();
            var metrics = await cdp.CallAsync("Performance.getMetrics", null, ct);
            string Metric(string name) => metrics?["metrics"]?.AsArray().FirstOrDefault(m => (string?)m!["name"] == name)?["value"] is { } v
                ? string.Create(CultureInfo.InvariantCulture, $"{(double)v * 1000:F0}") : "?";
            o.WriteLine($"browser main thread over all {loads + 1} loads (ms): tasks {Metric("TaskDuration")}, script {Metric("ScriptDuration")}, layout {Metric("LayoutDuration")}, style {Metric("RecalcStyleDuration")}");
            o.WriteLine("last load, each chart first complete at (ms): " + string.Join(", ", lastChartAt.OrderBy(kv => kv.Value).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F0}"))));
            foreach (var line in hottest) o.WriteLine(line);
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

    /// <summary>Navigates and polls until every chart holds the traces and points its figure says the server sent;
    /// also notes when each chart (by its test id) was first complete, to show whether one chart holds up the rest.</summary>
    static async Task<(double Ms, int Charts, int Traces, long Points, IReadOnlyDictionary<string, double> ChartAt)> LoadAsync(
        DevTools cdp, string url, CancellationToken ct)
    {
        const string Probe = """
            (() => {
              const figs = [...document.querySelectorAll('figure.plotly-curves')].map(f => {
                const gd = f.querySelector('.js-plotly-plot');
                const want = +f.dataset.traces, wantPoints = +f.dataset.points;
                const got = gd && gd.data ? gd.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0) : -1;
                return [f.dataset.testid || '?', gd && gd.data && gd.data.length === want && got === wantPoints ? 1 : 0, want, got];
              });
              // The parallel coordinates: one trace, a line per finished run on every axis.
              const par = [...document.querySelectorAll('figure[data-axes]')].map(f => {
                const gd = f.querySelector('.js-plotly-plot');
                const lines = +f.dataset.lines;
                const dims = gd && gd.data && gd.data[0] ? gd.data[0].dimensions : null;
                const drawn = dims && dims.length === f.dataset.axes.split('|').length && dims.every(d => d.values.length === lines)
                  && gd.querySelector('canvas') !== null;
                return [f.dataset.testid || 'parallel', drawn ? 1 : 0, 1, drawn ? lines : -1];
              });
              return figs.concat(par);
            })()
            """;
        var chartAt = new Dictionary<string, double>();
        var sw = Stopwatch.StartNew();
        await cdp.CallAsync("Page.navigate", new JsonObject { ["url"] = url }, ct);
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            var result = await cdp.CallAsync("Runtime.evaluate", new JsonObject { ["expression"] = Probe, ["returnByValue"] = true }, ct);
            if (result?["result"]?["value"] is JsonArray figs && figs.Count > 0)
            {
                var now = sw.Elapsed.TotalMilliseconds;
                foreach (var f in figs.Select(x => x!.AsArray()).Where(x => (int)x[1]! == 1)) chartAt.TryAdd((string)f[0]!, now);
                if (figs.All(x => (int)x![1]! == 1))
                    return (now, figs.Count, figs.Sum(x => (int)x![2]!), figs.Sum(x => (long)x![3]!), chartAt);
            }
            await Task.Delay(20, ct);
        }
        throw new TimeoutException("The compare page did not draw every chart within 60 s.");
    }

    /// <summary>The functions with the most self time in a V8 CPU profile (samples × their interval), grouped by name
    /// and script, and the total per script.</summary>
    static IReadOnlyList<string> Hottest(JsonNode profile)
    {
        var nodes = profile["nodes"]!.AsArray().ToDictionary(n => (int)n!["id"]!, n => n!["callFrame"]!);
        var samples = profile["samples"]!.AsArray().Select(x => (int)x!).ToList();
        var deltas = profile["timeDeltas"]!.AsArray().Select(x => (long)x!).ToList();
        var byFunction = new Dictionary<string, double>();
        var byScript = new Dictionary<string, double>();
        for (var i = 0; i < samples.Count - 1; i++)
        {
            var frame = nodes[samples[i]];
            var ms = deltas[i + 1] / 1000.0;
            var script = Path.GetFileName((string?)frame["url"] ?? "") is { Length: > 0 } f ? f : "(" + (string?)frame["functionName"] + ")";
            var fn = $"{((string?)frame["functionName"] is { Length: > 0 } n ? n : "(anonymous)")} [{script}:{(int?)frame["lineNumber"]}]";
            byFunction[fn] = byFunction.GetValueOrDefault(fn) + ms;
            byScript[script] = byScript.GetValueOrDefault(script) + ms;
        }
        return [
            "last load's CPU profile, by script (ms): " + string.Join(", ", byScript.OrderByDescending(kv => kv.Value).Take(8).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F0}"))),
            .. byFunction.OrderByDescending(kv => kv.Value).Take(15).Select(kv => string.Create(CultureInfo.InvariantCulture, $"  {kv.Value,7:F0} ms  {kv.Key}")),
        ];
    }

    /// <summary>Where the time went, from the browser's own timings (ms after the navigation started): the prerendered
    /// page received, the Blazor circuit's negotiation started, and plotly.js received; what follows the last of these
    /// is script compilation, the circuit's first render and drawing.</summary>
    static async Task<(double Html, double Negotiate, double Plotly)> MilestonesAsync(DevTools cdp, CancellationToken ct)
    {
        const string Timings = """
            (() => {
              const nav = performance.getEntriesByType('navigation')[0];
              const res = performance.getEntriesByType('resource');
              const at = (f, k) => { const r = res.find(e => f(e.name)); return r ? r[k] : -1; };
              return [nav ? nav.responseEnd : -1, at(n => n.includes('/_blazor/negotiate'), 'startTime'), at(n => /plotly[^/]*\.js/.test(n), 'responseEnd')];
            })()
            """;
        var result = await cdp.CallAsync("Runtime.evaluate", new JsonObject { ["expression"] = Timings, ["returnByValue"] = true }, ct);
        var v = result?["result"]?["value"]?.AsArray();
        return v is null ? (-1, -1, -1) : ((double)v[0]!, (double)v[1]!, (double)v[2]!);
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
        // The portal listens on loopback only, so accounts can be off: the page is timed, not the login redirect.
        psi.Environment["Auth__Mode"] = "None";
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
