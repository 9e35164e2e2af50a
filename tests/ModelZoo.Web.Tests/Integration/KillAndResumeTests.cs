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

namespace ModelZoo.Web.Tests.Integration;

/// <summary>
/// The portal as its own process, killed with SIGKILL in the middle of a run and started again on the same data
/// folder: the run resumes from its last checkpoint and finishes, its history has every step exactly once, and it
/// ends with the same losses and test accuracy as the same run left alone.
/// </summary>
public sealed class KillAndResumeTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    readonly string _dataDir = Directory.CreateTempSubdirectory("mz-kill-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    /// <summary>The portal's own entry assembly, copied beside the tests by the project reference, run with `dotnet`.</summary>
    sealed class PortalProcess : IAsyncDisposable
    {
        readonly Process _process;
        readonly StringBuilder _log = new();
        public HttpClient Http { get; }

        public PortalProcess(string dataDir)
        {
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
            _process = Process.Start(psi)!;
            _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        }

        public string Log { get { lock (_log) return _log.ToString(); } }

        public async Task WaitHealthyAsync()
        {
            var until = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < until)
            {
                if (_process.HasExited) throw new InvalidOperationException($"The portal exited with {_process.ExitCode}:\n{Log}");
                try { if ((await Http.GetAsync("/healthz")).IsSuccessStatusCode) return; }
                catch (HttpRequestException) { }
                await Task.Delay(200);
            }
            throw new TimeoutException($"The portal did not answer /healthz:\n{Log}");
        }

        /// <summary>SIGKILL: no shutdown code runs, as when the machine loses power or the OOM killer strikes.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000).ShouldBeTrue();
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
            _process.Dispose();
        }

        static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }
    }

    /// <summary>Two classes of 16x16 noise a network separates in a few epochs: 320 to train, 40 to validate, 40 to test.</summary>
    void WriteDataset()
    {
        var rng = new Random(3);
        int n = 400, side = 16;
        var labels = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        var pixels = new byte[n * side * side];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < side * side; p++)
                pixels[i * side * side + p] = (byte)(labels[i] == 0 ? rng.Next(0, 140) : rng.Next(110, 256));
        var info = new DatasetInfo { Id = "noise", Title = "Noise", ClassNames = ["dark", "bright"], Examples = n, Width = side, Height = side, Channels = 1, License = "test", Provenance = "generated in test" };
        var store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = _dataDir }, _dataDir));
        store.Write(info, new ImageSet { Width = side, Height = side, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = info.ClassNames },
            new SplitIndices(1, [.. Enumerable.Range(0, 320)], [.. Enumerable.Range(320, 40)], [.. Enumerable.Range(360, 40)]));
    }

    static RunRequest Request(string name) => new()
    {
        ModelId = "resnet18.tv_in1k", DatasetId = "noise", Strategy = "full-fine-tune", Name = name,
        HyperParameters = new HyperParameters { Epochs = 4, BatchSize = 16, LearningRate = 1e-3, Seed = 11, ImageSize = 16, Augment = true },
    };

    static async Task<Guid> LaunchAsync(HttpClient http, RunRequest r)
    {
        var response = await http.PostAsJsonAsync("/api/runs", r, Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RunView>(Json))!.Id;
    }

    static async Task<List<RunEvent>> EventsAsync(HttpClient http, Guid id) =>
        (await http.GetFromJsonAsync<List<RunEvent>>($"/api/runs/{id}/events", Json))!;

    static async Task<RunView> WaitFinishedAsync(PortalProcess portal, Guid id)
    {
        var until = DateTime.UtcNow.AddMinutes(4);
        while (DateTime.UtcNow < until)
        {
            var v = (await portal.Http.GetFromJsonAsync<RunView>($"/api/runs/{id}", Json))!;
            if (v.Status.IsTerminal()) return v;
            await Task.Delay(200);
        }
        throw new TimeoutException($"Run {id} did not finish:\n{portal.Log}");
    }

    [Fact]
    public async Task APortalKilledMidRun_ResumesTheRunFromItsCheckpoint_WithNoGapOrDuplicate_AndTheSameResult()
    {
        WriteDataset();
        Guid id;
        int killedAfterStep;
        await using (var first = new PortalProcess(_dataDir))
        {
            await first.WaitHealthyAsync();
            id = await LaunchAsync(first.Http, Request("killed"));
            // Wait for the checkpoint of epoch 1 and a few steps of epoch 2, then kill without warning.
            var until = DateTime.UtcNow.AddMinutes(3);
            while (true)
            {
                var events = await EventsAsync(first.Http, id);
                if (events.Any(e => e.Checkpoint is { Epoch: >= 1 }) && events.Any(e => e.Step is { Epoch: 2, Step: >= 5 }))
                {
                    killedAfterStep = events.Where(e => e.Step is not null).Max(e => e.Step!.GlobalStep);
                    break;
                }
                if (DateTime.UtcNow > until) throw new TimeoutException($"No checkpoint appeared:\n{first.Log}");
                await Task.Delay(25);
            }
            first.Kill();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        await using var second = new PortalProcess(_dataDir);
        await second.WaitHealthyAsync();
        var resumed = await WaitFinishedAsync(second, id);
        resumed.Status.ShouldBe(RunStatus.Succeeded, second.Log);
        var history = await EventsAsync(second.Http, id);

        history.Select(e => e.Seq).ShouldBe(Enumerable.Range(1, history.Count).Select(i => (long)i), "no gap and no duplicate in the numbering");
        var steps = history.Where(e => e.Step is not null).Select(e => e.Step!).ToList();
        steps.Select(s => s.GlobalStep).ShouldBe(Enumerable.Range(1, 4 * 20), "every step exactly once, in order");
        history.Where(e => e.Epoch is not null).Select(e => e.Epoch!.Epoch).ShouldBe([1, 2, 3, 4]);
        var resumedAfter = resumed.Result!.ResumedAfterEpochs.ShouldHaveSingleItem();
        resumedAfter.ShouldBeInRange(1, 3);
        killedAfterStep.ShouldBeGreaterThan(resumedAfter * 20, "steps after the checkpoint were lost with the process and replayed");
        history.ShouldContain(e => e.Status != null && e.Status.Message!.StartsWith($"Resuming from the checkpoint after epoch {resumedAfter}"));
        resumed.CardMarkdown!.ShouldContain($"resumed from its checkpoint after epoch {resumedAfter}");
        resumed.Resumes.ShouldBe(1);
        Directory.Exists(Path.Combine(_dataDir, "runs", id.ToString(), "checkpoint")).ShouldBeFalse("a finished run keeps only its weights");

        // The same run, left alone, in the same process: a resumed seeded CPU run replays the same steps.
        var alone = await WaitFinishedAsync(second, await LaunchAsync(second.Http, Request("alone")));
        var aloneSteps = (await EventsAsync(second.Http, alone.Id)).Where(e => e.Step is not null).Select(e => e.Step!).ToList();
        var largest = steps.Zip(aloneSteps, (a, b) => Math.Abs(a.Loss - b.Loss)).Max();
        // Measured: identical losses (largest difference 0) and test accuracy: the same seeds, orders and kernels.
        output.WriteLine($"resumed after epoch {resumedAfter}; largest loss difference from the uninterrupted run {largest:G3}; " +
                         $"test accuracy {resumed.Result.TestAccuracy:P2} and {alone.Result!.TestAccuracy:P2}");
        largest.ShouldBeLessThan(1e-4, "the resumed run's losses are the uninterrupted run's");
        resumed.Result.TestAccuracy.ShouldBe(alone.Result!.TestAccuracy);
    }
}
