using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Tests.Weights;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Web.Tests.Reliability;

/// <summary>
/// SIGKILL while the portal is really writing a file (a dataset upload and a weights import, each streamed slowly by
/// the test's client and caught mid-stream; a run's checkpoint, caught by watching its folder): at the next start no
/// half-written file is visible, no record of the half-done work remains, and what was stored before is intact, byte
/// for byte. (docs/reliability.md, "SIGKILL during a write")
/// </summary>
public sealed class KillMidWriteTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    const string Fixture = "resnet18_seed7.safetensors";
    readonly string _dataDir = Directory.CreateTempSubdirectory("mz-killwrite-").FullName;
    readonly TestZoo _zoo = new();

    public void Dispose()
    {
        _zoo.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    Dictionary<string, string> Settings() => new() { ["Storage:ZooDir"] = _zoo.Dir };

    static async Task WaitForFileAsync(PortalProcess portal, string dir, Func<FileInfo, bool> match, string what) =>
        await portal.WaitUntilAsync(() => Task.FromResult(
            Directory.Exists(dir) && new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Any(match)), what, TimeSpan.FromMinutes(2));

    [Fact]
    public async Task KilledMidDatasetUpload_LeavesNoTrace_AndTheDatasetsBeforeAreIntact()
    {
        PortalProcess.WriteNoiseDataset(_dataDir);
        var datasets = Path.Combine(_dataDir, "datasets");
        var before = PortalProcess.Snapshot(datasets);
        var body = new byte[8 << 20];
        new Random(5).NextBytes(body);
        StalledContent upload;
        Task<HttpResponseMessage> sending;
        await using (var first = await PortalProcess.StartAsync(_dataDir, Settings()))
        {
            upload = StalledContent.Raw(body, 2 << 20, "application/zip");
            sending = first.Http.PostAsync("/api/datasets/upload?name=half-uploaded&fileName=half.zip", upload);
            // The upload's temp file holds a good part of what was sent: the portal is writing it now.
            await WaitForFileAsync(first, datasets, f => f.Name.StartsWith(".tmp-upload-") && f.Length >= 1 << 20, "the upload to be half written");
            first.Kill();
        }
        upload.Abandon();
        await Should.ThrowAsync<Exception>(sending);
        var leftBehind = PortalProcess.Leftovers(datasets);
        output.WriteLine($"left behind by the kill: {string.Join(", ", leftBehind)}");
        leftBehind.ShouldNotBeEmpty("the kill came mid-write (else this test proves nothing)");

        await using var second = await PortalProcess.StartAsync(_dataDir, Settings());
        PortalProcess.Leftovers(datasets).ShouldBeEmpty("the next start removes what the killed write left");
        PortalProcess.Snapshot(datasets).ShouldBe(before, "the dataset stored before is byte for byte the same");
        var listed = (await second.Http.GetFromJsonAsync<List<JsonElement>>("/api/datasets", PortalProcess.Json))!.Select(d => d.GetProperty("id").GetString()).ToList();
        listed.ShouldContain("noise");
        listed.ShouldNotContain("half-uploaded");
        (await second.Http.GetAsync("/api/datasets/half-uploaded")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await second.Http.GetAsync("/api/datasets/noise")).StatusCode.ShouldBe(HttpStatusCode.OK);
        second.Log.ShouldContain("left half-written by a process that stopped mid-write");
    }

    [Fact]
    public async Task KilledMidWeightsImport_LeavesNoTrace_AndThePreviousImportIsIntact()
    {
        var fixture = TestFixtures.PathOf(Fixture);
        var id = _zoo.Add("seed7", TestZoo.SafeTensors(Fixture, sha256: Sha256.OfFile(fixture)));
        var weights = Path.Combine(_dataDir, "weights");
        var file = await File.ReadAllBytesAsync(fixture);
        StalledContent import;
        Task<HttpResponseMessage> sending;
        Dictionary<string, string> before;
        string importedSha;
        await using (var first = await PortalProcess.StartAsync(_dataDir, Settings()))
        {
            using (var form = new MultipartFormDataContent { { new ByteArrayContent(file), "file", Fixture } })
            {
                var ok = await first.Http.PostAsync($"/api/models/{id}/weights", form);
                ok.StatusCode.ShouldBe(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
            }
            importedSha = (await first.Http.GetFromJsonAsync<JsonElement>($"/api/models/{id}/weights")).GetProperty("sha256").GetString()!;
            before = PortalProcess.Snapshot(weights);

            // The same file again, as a slow client sends it: killed while the portal writes it to its temp folder.
            import = StalledContent.Multipart(file, Fixture, file.Length / 2);
            sending = first.Http.PostAsync($"/api/models/{id}/weights", import);
            await WaitForFileAsync(first, weights, f => f.Directory!.Name.StartsWith(".tmp-") && f.Length >= 4 << 20, "the import to be half written");
            first.Kill();
        }
        import.Abandon();
        await Should.ThrowAsync<Exception>(sending);
        var leftBehind = PortalProcess.Leftovers(weights);
        output.WriteLine($"left behind by the kill: {string.Join(", ", leftBehind)}");
        leftBehind.ShouldNotBeEmpty("the kill came mid-write (else this test proves nothing)");

        await using var second = await PortalProcess.StartAsync(_dataDir, Settings());
        PortalProcess.Leftovers(weights).ShouldBeEmpty("the next start removes what the killed import left");
        PortalProcess.Snapshot(weights).ShouldBe(before, "the previous import (file and record) is byte for byte the same");
        var record = await second.Http.GetFromJsonAsync<JsonElement>($"/api/models/{id}/weights");
        record.GetProperty("sha256").GetString().ShouldBe(importedSha);
    }

    [Fact]
    public async Task KilledMidCheckpointWrite_ResumesFromThePreviousCheckpoint_AndLeavesNoHalfWrittenOne()
    {
        PortalProcess.WriteNoiseDataset(_dataDir);
        var request = new RunRequest
        {
            ModelId = "resnet18.scratch", DatasetId = "noise", Strategy = "full-fine-tune", Name = "killed-mid-checkpoint",
            HyperParameters = new HyperParameters { Epochs = 8, BatchSize = 32, LearningRate = 1e-3, Seed = 11, ImageSize = 16, TrainLimit = 64 },
        };
        _zoo.Add("scratch", weights: null, numClasses: 2);
        var runs = Path.Combine(_dataDir, "runs");
        Guid id = Guid.Empty;
        int goodEpoch = -1, attempts = 0;
        // On a busy machine the watcher's event can reach the test after the save has finished; then the portal is
        // started again (the run resumes) and the next save is tried, up to five times.
        while (true)
        {
            attempts++;
            string? caught = null;
            await using (var first = await PortalProcess.StartAsync(_dataDir, Settings()))
            {
                // inotify: the kill follows the first event inside a fresh checkpoint folder within milliseconds
                // (once the checkpoint in place holds epoch 1 or later), while the save writes ~45 MB of tensors and
                // ~90 MB of optimiser state there.
                using var watcher = new FileSystemWatcher(runs) { IncludeSubdirectories = true, InternalBufferSize = 1 << 16 };
                var killed = new TaskCompletionSource();
                void OnEvent(object _, FileSystemEventArgs e)
                {
                    if (killed.Task.IsCompleted || !e.FullPath.Contains("checkpoint.new")) return;
                    var inPlace = Path.Combine(e.FullPath[..e.FullPath.IndexOf("checkpoint.new", StringComparison.Ordinal)], "checkpoint");
                    try { if (CheckpointState.Read(inPlace).Epoch < 1) return; }
                    catch (Exception) { return; } // no complete checkpoint in place yet
                    lock (killed)
                    {
                        if (killed.Task.IsCompleted) return;
                        first.Kill();
                        caught = e.FullPath;
                        killed.TrySetResult();
                    }
                }
                watcher.Created += OnEvent;
                watcher.Changed += OnEvent;
                watcher.EnableRaisingEvents = true;
                if (id == Guid.Empty) id = await first.LaunchAsync(request);
                var until = DateTime.UtcNow.AddMinutes(3);
                while (!killed.Task.IsCompleted)
                {
                    if (DateTime.UtcNow > until) throw new TimeoutException($"No checkpoint save after epoch 1 was caught:\n{first.Log}");
                    await Task.WhenAny(killed.Task, Task.Delay(1000));
                }
            }
            var runDir = Path.Combine(runs, id.ToString());
            output.WriteLine($"attempt {attempts}: killed on {caught}; the run folder then held: " +
                             string.Join(", ", Directory.EnumerateFileSystemEntries(runDir, "*", SearchOption.AllDirectories).Select(p => $"{Path.GetRelativePath(runDir, p)}" +
                                 (File.Exists(p) ? $" ({new FileInfo(p).Length} bytes)" : ""))));
            if (Directory.Exists(Path.Combine(runDir, "checkpoint.new")))
            {
                File.Exists(Path.Combine(runDir, "checkpoint.new", "state.json")).ShouldBeFalse("the new checkpoint was incomplete (its state is written last)");
                goodEpoch = CheckpointState.Read(Path.Combine(runDir, "checkpoint")).Epoch;
                goodEpoch.ShouldBeGreaterThanOrEqualTo(1, "a complete checkpoint of a trained epoch was in place before the kill");
                break;
            }
            attempts.ShouldBeLessThan(5, "the kill never came during a save (else this test proves nothing)");
        }

        await using var second = await PortalProcess.StartAsync(_dataDir, Settings());
        var run = await second.WaitFinishedAsync(id);
        run.Status.ShouldBe(RunStatus.Succeeded, second.Log);
        run.Result!.ResumedAfterEpochs[^1].ShouldBe(goodEpoch, "resumed from the good checkpoint, not the half-written one after it");
        // (Not one entry per attempt: a resume is recorded in the next checkpoint, and a kill before that loses it.)
        second.Log.ShouldContain($"checkpoint.new, left half-written by a process that stopped mid-write");
        var history = await second.EventsAsync(id);
        history.Select(e => e.Seq).ShouldBe(Enumerable.Range(1, history.Count).Select(i => (long)i), "no gap and no duplicate in the numbering");
        history.Where(e => e.Step is not null).Select(e => e.Step!.GlobalStep).ShouldBe(Enumerable.Range(1, 8 * 2), "every step exactly once");
        PortalProcess.Leftovers(runs).ShouldBeEmpty();
    }
}
