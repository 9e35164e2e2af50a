using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Tests.Weights;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Web.Tests.Reliability;

/// <summary>A fact that needs a small tmpfs of its own (root, or CAP_SYS_ADMIN); skipped, with the reason, where the
/// mount is refused.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    static readonly Lazy<string?> Refusal = new(() =>
    {
        var probe = Directory.CreateTempSubdirectory("mz-tmpfs-probe-").FullName;
        try
        {
            var (rc, text) = DiskFullTests.Sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe);
            if (rc != 0) return $"A tmpfs cannot be mounted here (mount said: {text.Trim()}); the disk-full test needs root or CAP_SYS_ADMIN.";
            DiskFullTests.Sh("umount", probe);
            return null;
        }
        catch (Exception e) { return $"`mount` cannot be run here ({e.Message}); the disk-full test needs it."; }
        finally { try { Directory.Delete(probe); } catch (IOException) { } }
    });

    public TmpfsFactAttribute()
    {
        if (Refusal.Value is { } why) Skip = why;
    }
}

/// <summary>
/// The data folder on a small tmpfs that fills up: a dataset upload, a weights import and a run each fail alone with an
/// error that says the disk is full and names the file; the import stored before is unchanged, no temp file remains,
/// and the portal keeps answering. (docs/reliability.md, "Disk full while saving")
/// </summary>
public sealed class DiskFullTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    const string Fixture = "resnet18_seed7.safetensors";
    readonly string _dataDir = Directory.CreateTempSubdirectory("mz-diskfull-").FullName;
    readonly TestZoo _zoo = new();
    bool _mounted;

    internal static (int Code, string Text) Sh(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text);
    }

    public void Dispose()
    {
        // Always unmounted, even when the test failed; lazily if something still holds a file there.
        if (_mounted && Sh("umount", _dataDir).Code != 0) Sh("umount", "-l", _dataDir);
        _zoo.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    static long FreeBytes(string dir) => new DriveInfo(dir).AvailableFreeSpace;

    /// <summary>Fills the file system with one file until it refuses, then gives back <paramref name="leave"/> bytes.</summary>
    static string Fill(string dir, long leave)
    {
        var filler = Path.Combine(dir, "filler.bin");
        var block = new byte[1 << 20];
        using (var f = new FileStream(filler, FileMode.CreateNew, FileAccess.Write))
        {
            try { while (true) f.Write(block); }
            catch (IOException) { }
            try { f.Flush(); } catch (IOException) { }
        }
        using (var f = new FileStream(filler, FileMode.Open, FileAccess.Write)) f.SetLength(Math.Max(0, f.Length - leave));
        return filler;
    }

    static async Task<(HttpStatusCode Status, string Detail)> ProblemAsync(Task<HttpResponseMessage> send)
    {
        var r = await send;
        var body = await r.Content.ReadAsStringAsync();
        try { return (r.StatusCode, JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!); }
        catch (Exception e) when (e is JsonException or KeyNotFoundException) { return (r.StatusCode, body); }
    }

    [TmpfsFact]
    public async Task AFullDisk_FailsTheUploadTheImportAndTheRunAlone_WithAClearError_KeepsThePreviousImport_AndKeepsServing()
    {
        var (rc, text) = Sh("mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", _dataDir);
        rc.ShouldBe(0, text);
        _mounted = true;
        PortalProcess.WriteNoiseDataset(_dataDir);
        var fixture = TestFixtures.PathOf(Fixture);
        var id = _zoo.Add("seed7", TestZoo.SafeTensors(Fixture, sha256: Sha256.OfFile(fixture)));
        _zoo.Add("scratch", weights: null, numClasses: 2);
        var file = await File.ReadAllBytesAsync(fixture);
        await using var portal = await PortalProcess.StartAsync(_dataDir, new Dictionary<string, string> { ["Storage:ZooDir"] = _zoo.Dir });
        using (var form = new MultipartFormDataContent { { new ByteArrayContent(file), "file", Fixture } })
            (await portal.Http.PostAsync($"/api/models/{id}/weights", form)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var weights = Path.Combine(_dataDir, "weights");
        var imported = PortalProcess.Snapshot(weights);
        var datasets = PortalProcess.Snapshot(Path.Combine(_dataDir, "datasets"));

        Fill(_dataDir, leave: 3 << 20);
        output.WriteLine($"free after filling: {FreeBytes(_dataDir) >> 10} KiB");

        // An upload larger than the space left.
        var body = new byte[6 << 20];
        new Random(5).NextBytes(body);
        var zip = new ByteArrayContent(body);
        zip.Headers.ContentType = new("application/zip");
        var (status, detail) = await ProblemAsync(portal.Http.PostAsync("/api/datasets/upload?name=too-big&fileName=too-big.zip", zip));
        output.WriteLine($"upload: {(int)status}: {detail}");
        status.ShouldBe(HttpStatusCode.InsufficientStorage);
        detail.ShouldContain("is full");
        detail.ShouldContain(Path.Combine(_dataDir, "datasets"));

        // The same weights again: the import fails while receiving, and the import stored before stays as it was.
        using (var form = new MultipartFormDataContent { { new ByteArrayContent(file), "file", Fixture } })
            (status, detail) = await ProblemAsync(portal.Http.PostAsync($"/api/models/{id}/weights", form));
        output.WriteLine($"import: {(int)status}: {detail}");
        status.ShouldBe(HttpStatusCode.InsufficientStorage);
        detail.ShouldContain(weights);
        PortalProcess.Snapshot(weights).ShouldBe(imported, "no corrupt file replaced the good import");
        (await portal.Http.GetFromJsonAsync<JsonElement>($"/api/models/{id}/weights")).GetProperty("sha256").GetString()
            .ShouldBe(Sha256.OfFile(fixture));

        // A run: its first checkpoint (~135 MB of tensors and optimiser state) cannot be written.
        var run = await portal.WaitFinishedAsync(await portal.LaunchAsync(new RunRequest
        {
            ModelId = "resnet18.scratch", DatasetId = "noise", Strategy = "full-fine-tune", Name = "disk full",
            HyperParameters = new HyperParameters { Epochs = 2, BatchSize = 32, LearningRate = 1e-3, Seed = 11, ImageSize = 16, TrainLimit = 64 },
        }));
        output.WriteLine($"run: {run.Status}: {run.Error}");
        run.Status.ShouldBe(RunStatus.Failed);
        run.Error!.ShouldContain("is full");
        run.Error.ShouldContain(Path.Combine(_dataDir, "runs", run.Id.ToString()));

        foreach (var path in new[] { "/healthz", "/api/datasets", "/api/runs", "/api/models", $"/runs/{run.Id}", "/" })
            (await portal.Http.GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.OK, $"GET {path} after the disk filled");
        PortalProcess.Leftovers(_dataDir).ShouldBeEmpty("the failed writes removed their temp files");
        PortalProcess.Snapshot(Path.Combine(_dataDir, "datasets")).ShouldBe(datasets);
        Directory.Exists(Path.Combine(_dataDir, "runs", run.Id.ToString())).ShouldBeFalse("the failed run keeps no partial files");
    }
}
