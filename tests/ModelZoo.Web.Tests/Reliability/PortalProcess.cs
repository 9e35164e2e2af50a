using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Web.Tests.Reliability;

/// <summary>
/// The portal as its own process (the built ModelZoo.Web.dll beside the tests, run with `dotnet`), on a loopback port
/// with Auth:Mode=None and its own data folder, so a test can SIGKILL it and start it again on the same folder.
/// </summary>
public sealed class PortalProcess : IAsyncDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    readonly Process _process;
    readonly StringBuilder _log = new();
    public HttpClient Http { get; }
    public string DataDir { get; }
    public int Pid => _process.Id;

    PortalProcess(string dataDir, IReadOnlyDictionary<string, string>? settings)
    {
        DataDir = dataDir;
        var port = FreePort();
        var bin = AppContext.BaseDirectory;
        var psi = new ProcessStartInfo("dotnet", [Path.Combine(bin, "ModelZoo.Web.dll"), "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = bin, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        psi.Environment["Storage__DataDir"] = dataDir;
        psi.Environment["Datasets__FetchOnStartup"] = "false";
        psi.Environment["Auth__Mode"] = "None";
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) psi.Environment[k.Replace(":", "__")] = v;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Starts the portal and waits until /healthz answers.</summary>
    public static async Task<PortalProcess> StartAsync(string dataDir, IReadOnlyDictionary<string, string>? settings = null)
    {
        var p = new PortalProcess(dataDir, settings);
        try { await p.WaitHealthyAsync(); }
        catch { await p.DisposeAsync(); throw; }
        return p;
    }

    /// <summary>Starts the portal without waiting (for a start that is expected to fail).</summary>
    public static PortalProcess Launch(string dataDir, IReadOnlyDictionary<string, string>? settings = null) => new(dataDir, settings);

    public string Log { get { lock (_log) return _log.ToString(); } }
    public bool HasExited => _process.HasExited;

    async Task WaitHealthyAsync()
    {
        var until = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < until)
        {
            if (_process.HasExited) throw new InvalidOperationException($"The portal exited with {_process.ExitCode}:\n{Log}");
            try { if ((await Http.GetAsync("/healthz")).IsSuccessStatusCode) return; }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"The portal did not answer /healthz:\n{Log}");
    }

    /// <summary>Waits for the process to end by itself (a start that must fail).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs, as when the machine loses power or the OOM killer strikes.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000).ShouldBeTrue();
        // The test process's own SQLite connections (if any) must not outlive the file's writer.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
        _process.Dispose();
    }

    /// <summary>Polls <paramref name="probe"/> (an API call or a look at the data folder) until it holds; no fixed sleeps
    /// decide anything, the generous deadline only turns a hang into a failure with the portal's log.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> probe, string what, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(3));
        while (!await probe())
        {
            if (_process.HasExited) throw new InvalidOperationException($"The portal exited while waiting for {what}:\n{Log}");
            if (DateTime.UtcNow > until) throw new TimeoutException($"Timed out waiting for {what}:\n{Log}");
            await Task.Delay(25);
        }
    }

    public async Task<Guid> LaunchAsync(RunRequest r)
    {
        var response = await Http.PostAsJsonAsync("/api/runs", r, Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RunView>(Json))!.Id;
    }

    public async Task<List<RunEvent>> EventsAsync(Guid id) =>
        (await Http.GetFromJsonAsync<List<RunEvent>>($"/api/runs/{id}/events", Json))!;

    public async Task<RunView> RunAsync(Guid id) => (await Http.GetFromJsonAsync<RunView>($"/api/runs/{id}", Json))!;

    public async Task<RunView> WaitFinishedAsync(Guid id)
    {
        RunView? v = null;
        await WaitUntilAsync(async () => (v = await RunAsync(id)).Status.IsTerminal(), $"run {id} to finish", TimeSpan.FromMinutes(4));
        return v!;
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Two classes of 16x16 noise a network separates in a few epochs: 320 to train, 40 to validate, 40 to test.</summary>
    public static DatasetInfo WriteNoiseDataset(string dataDir, string id = "noise")
    {
        var rng = new Random(3);
        int n = 400, side = 16;
        var labels = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        var pixels = new byte[n * side * side];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < side * side; p++)
                pixels[i * side * side + p] = (byte)(labels[i] == 0 ? rng.Next(0, 140) : rng.Next(110, 256));
        var info = new DatasetInfo { Id = id, Title = "Noise", ClassNames = ["dark", "bright"], Examples = n, Width = side, Height = side, Channels = 1, License = "test", Provenance = "generated in test" };
        var store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = dataDir }, dataDir));
        return store.Write(info, new ImageSet { Width = side, Height = side, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = info.ClassNames },
            new SplitIndices(1, [.. Enumerable.Range(0, 320)], [.. Enumerable.Range(320, 40)], [.. Enumerable.Range(360, 40)]));
    }

    /// <summary>Every file under the folder with its length and sha256, to compare before and after a fault.</summary>
    public static Dictionary<string, string> Snapshot(string dir) =>
        Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(
                f => Path.GetRelativePath(dir, f), f => $"{new FileInfo(f).Length}:{ModelZoo.Torch.Weights.Sha256.OfFile(f)}")
            : [];

    /// <summary>Names under the folder that are work in progress (temp names), at any depth.</summary>
    public static List<string> Leftovers(string dir) =>
        Directory.Exists(dir)
            ? Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(dir, p))
                .Where(p => p.Split(Path.DirectorySeparatorChar).Any(s => s.StartsWith(".tmp-") || s.Contains(".tmp-") || s.EndsWith(".new") || s.EndsWith(".old") || s.StartsWith(".record-")))
                .ToList()
            : [];
}
