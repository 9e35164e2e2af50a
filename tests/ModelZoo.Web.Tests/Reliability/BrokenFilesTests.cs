using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Tests.Weights;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Web.Tests.Reliability;

/// <summary>
/// A file the portal depends on goes bad under it: the database locked by another process, an imported weights file
/// deleted, a run's checkpoint corrupted. Each gets an error naming the file, and everything else keeps serving.
/// (docs/reliability.md, "Locked database, deleted weights, corrupt checkpoint")
/// </summary>
public sealed class BrokenFilesTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    const string Fixture = "resnet18_seed7.safetensors";
    readonly string _dataDir = Directory.CreateTempSubdirectory("mz-broken-").FullName;
    readonly TestZoo _zoo = new();

    public void Dispose()
    {
        _zoo.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    string Database => Path.Combine(_dataDir, "modelzoo.db");

    // 64 training examples in batches of 32: two steps an epoch keep the runs short.
    RunRequest Request(string model, int epochs = 1) => new()
    {
        ModelId = model, DatasetId = "noise", Strategy = "full-fine-tune", Name = $"on {model}",
        HyperParameters = new HyperParameters { Epochs = epochs, BatchSize = 32, LearningRate = 1e-3, Seed = 11, ImageSize = 16, TrainLimit = 64 },
    };

    /// <summary>The pages and read endpoints a user would try next all still answer.</summary>
    static async Task ShouldStillServeAsync(PortalProcess portal)
    {
        foreach (var path in new[] { "/healthz", "/api/datasets", "/api/runs", "/api/models", "/datasets/noise", "/" })
        {
            var r = await portal.Http.GetAsync(path);
            r.StatusCode.ShouldBe(HttpStatusCode.OK, $"GET {path}: {await r.Content.ReadAsStringAsync()}");
        }
    }

    static async Task<string> DetailAsync(HttpResponseMessage r) =>
        (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;

    [Fact]
    public async Task ALockedDatabase_RefusesWritesWithAnErrorNamingTheFile_ReadsKeepServing_AndWritesWorkOnceReleased()
    {
        PortalProcess.WriteNoiseDataset(_dataDir);
        _zoo.Add("scratch", weights: null, numClasses: 2);
        await using var portal = await PortalProcess.StartAsync(_dataDir,
            new Dictionary<string, string> { ["Storage:ZooDir"] = _zoo.Dir, ["Storage:DatabaseTimeoutSeconds"] = "2" });

        // Another program (a backup, an sqlite3 shell) holds the write lock.
        await using (var other = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            await other.OpenAsync();
            await using (var begin = other.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE;";
                await begin.ExecuteNonQueryAsync();
            }
            var refused = await portal.Http.PostAsJsonAsync("/api/runs", Request("resnet18.scratch"), PortalProcess.Json);
            var detail = await DetailAsync(refused);
            output.WriteLine($"{(int)refused.StatusCode}: {detail}");
            refused.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            detail.ShouldContain(Database);
            detail.ShouldContain("locked");
            await ShouldStillServeAsync(portal);
            (await portal.Http.GetFromJsonAsync<List<JsonElement>>("/api/runs", PortalProcess.Json))!.ShouldBeEmpty("the refused launch stored nothing");
            await using var rollback = other.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }
        (await portal.Http.PostAsJsonAsync("/api/runs", Request("resnet18.scratch"), PortalProcess.Json)).StatusCode
            .ShouldBe(HttpStatusCode.Created, "once the lock is released, writes work again without a restart");
    }

    [Fact]
    public async Task ADeletedWeightsFile_FailsTheRunWithAnErrorNamingTheFile_InsteadOfTrainingFromRandomWeights()
    {
        PortalProcess.WriteNoiseDataset(_dataDir);
        var fixture = TestFixtures.PathOf(Fixture);
        var id = _zoo.Add("seed7", TestZoo.SafeTensors(Fixture, sha256: Sha256.OfFile(fixture)));
        await using var portal = await PortalProcess.StartAsync(_dataDir, new Dictionary<string, string> { ["Storage:ZooDir"] = _zoo.Dir });
        using (var form = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(fixture)), "file", Fixture } })
            (await portal.Http.PostAsync($"/api/models/{id}/weights", form)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var stored = Path.Combine(_dataDir, "weights", id, Fixture);
        File.Exists(stored).ShouldBeTrue();

        File.Delete(stored);

        var record = await portal.Http.GetAsync($"/api/models/{id}/weights");
        record.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await DetailAsync(record)).ShouldContain(stored);
        var export = await portal.Http.GetAsync($"/api/models/{id}/weights.safetensors");
        export.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await DetailAsync(export)).ShouldContain(stored);
        var run = await portal.WaitFinishedAsync(await portal.LaunchAsync(Request(id)));
        output.WriteLine($"run: {run.Status}: {run.Error}");
        run.Status.ShouldBe(RunStatus.Failed, "a run must not quietly train from a random initialisation");
        run.Error!.ShouldContain(stored);
        await ShouldStillServeAsync(portal);
    }

    [Fact]
    public async Task ACorruptCheckpoint_FailsThatRunWithAnErrorNamingTheFile_AndThePortalKeepsServing()
    {
        PortalProcess.WriteNoiseDataset(_dataDir);
        _zoo.Add("scratch", weights: null, numClasses: 2);
        var settings = new Dictionary<string, string> { ["Storage:ZooDir"] = _zoo.Dir };
        Guid id;
        await using (var first = await PortalProcess.StartAsync(_dataDir, settings))
        {
            // Enough epochs that the kill lands well before the end.
            id = await first.LaunchAsync(Request("resnet18.scratch", epochs: 8));
            await first.WaitUntilAsync(async () => (await first.EventsAsync(id)).Any(e => e.Checkpoint is { Epoch: >= 1 }), "the first checkpoint");
            first.Kill();
        }
        // Half of the tensors file overwritten with zeros, as a failing disk or a stray copy would leave it.
        var tensors = Path.Combine(_dataDir, "runs", id.ToString(), "checkpoint", "modules.safetensors");
        await using (var f = new FileStream(tensors, FileMode.Open, FileAccess.Write))
            await f.WriteAsync(new byte[f.Length / 2]);

        await using var second = await PortalProcess.StartAsync(_dataDir, settings);
        var run = await second.WaitFinishedAsync(id);
        output.WriteLine($"run: {run.Status}: {run.Error}");
        run.Status.ShouldBe(RunStatus.Failed);
        run.Error!.ShouldContain(tensors);
        await ShouldStillServeAsync(second);
        Directory.Exists(Path.Combine(_dataDir, "runs", id.ToString())).ShouldBeFalse("a failed run keeps no files");
        // The worker goes on: the next run trains and succeeds.
        (await second.WaitFinishedAsync(await second.LaunchAsync(Request("resnet18.scratch", epochs: 1)))).Status.ShouldBe(RunStatus.Succeeded, second.Log);
    }
}
