using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Tests.Catalog;

/// <summary>The real service, database and TorchSharp, on the smallest image model of the zoo with few iterations.</summary>
public class LatencyServiceTests : IAsyncLifetime
{
    const string Small = "mobilenet_v3_small.tv_in1k";

    sealed class NoTrainer : IRunTrainer
    {
        public string Device => "CPU (test)";
        public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct) => throw new NotSupportedException();
    }

    // No run worker: the tests put "Running" runs in the table themselves, and the worker would fail them at start-up.
    readonly TestHost _host = new(new NoTrainer(), startWorker: false, settings: new Dictionary<string, string?>
    {
        ["Latency:Warmup"] = "0",
        ["Latency:Iterations"] = "2",
        ["Latency:BatchSize"] = "2",
        ["Latency:TrainingPollSeconds"] = "0.1",
    });

    LatencyService Latency => _host.Services.GetRequiredService<LatencyService>();

    public async Task InitializeAsync() => await _host.StartAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    async Task<Guid> AddRunAsync(RunStatus status)
    {
        await using var db = await _host.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync();
        var run = new RunRecord
        {
            Id = Guid.NewGuid(), ModelId = "resnet18.tv_in1k", DatasetId = "tiny", RequestJson = "{}", Status = status,
            CreatedAt = DateTimeOffset.UtcNow, StartedAt = DateTimeOffset.UtcNow,
        };
        db.Runs.Add(run);
        await db.SaveChangesAsync();
        return run.Id;
    }

    async Task SetStatusAsync(Guid id, RunStatus status)
    {
        await using var db = await _host.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync();
        await db.Runs.Where(r => r.Id == id).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, status));
    }

    async Task<LatencyJob> WaitForJob(string id, Func<LatencyJob, bool> done, int seconds = 120)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            if (Latency.JobOf(id) is { } j && done(j)) return j;
            await Task.Delay(50);
        }
        throw new TimeoutException($"Latency job of {id} is {Latency.JobOf(id)}.");
    }

    [Fact]
    public async Task MeasureNow_StoresARow_AtTheManifestsInputSize_WithItsStatistics()
    {
        var attempt = await Latency.MeasureNowAsync(Small, batch: 1);

        attempt.Refusal.ShouldBeNull();
        var history = await Latency.HistoryAsync(Small);
        var row = history.ShouldHaveSingleItem();
        row.ShouldBe(attempt.Measurement);
        row.Architecture.ShouldBe("mobilenet_v3_small");
        (row.Batch, row.InputSize, row.Iterations).ShouldBe((1, 224, 2));
        row.Threads.ShouldBeGreaterThan(0);
        row.Device.ShouldStartWith("CPU");
        row.SoftwareVersions.ShouldContain("TorchSharp");
        row.MedianMs.ShouldBeGreaterThan(0);
        row.P90Ms.ShouldBeGreaterThanOrEqualTo(row.MedianMs);
        row.MeasuredAt.ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));
        if (OperatingSystem.IsLinux()) row.OtherCpuPercent.ShouldNotBeNull().ShouldBeInRange(0, 100);
    }

    [Fact]
    public async Task MeasureNow_Refuses_WhileATrainingRunIsInProgress()
    {
        await AddRunAsync(RunStatus.Running);

        var attempt = await Latency.MeasureNowAsync(Small, batch: 1);

        attempt.Measurement.ShouldBeNull();
        attempt.Refusal.ShouldBe(LatencyService.WaitingForTraining);
        (await Latency.HistoryAsync(Small)).ShouldBeEmpty();
    }

    [Fact]
    public async Task AQueuedMeasurement_WaitsForTheTrainingRun_ThenMeasuresBatchOneAndTheConfiguredBatch()
    {
        var seen = new ConcurrentQueue<LatencyJob>();
        Latency.Changed += seen.Enqueue;
        var run = await AddRunAsync(RunStatus.Running);

        var request = Latency.Request(Small);
        request.Outcome.ShouldBe(LatencyRequestOutcome.Queued);
        request.Job!.Batches.ShouldBe([1, 2]);
        var waiting = await WaitForJob(Small, j => j.State == LatencyJobState.WaitingForTraining, seconds: 20);
        waiting.Message.ShouldBe("Waiting for the training run to finish");
        Latency.Request(Small).Outcome.ShouldBe(LatencyRequestOutcome.AlreadyQueued);
        await Task.Delay(300);
        (await Latency.HistoryAsync(Small)).ShouldBeEmpty("nothing is measured beside a training run");

        await SetStatusAsync(run, RunStatus.Succeeded);
        var done = await WaitForJob(Small, j => !j.IsActive);

        done.State.ShouldBe(LatencyJobState.Succeeded, done.Message);
        (await Latency.HistoryAsync(Small)).Select(m => m.Batch).Order().ShouldBe([1, 2]);
        var latest = (await Latency.LatestAsync([Small]))[Small];
        latest.Select(m => m.Batch).ShouldBe([1, 2]);
        seen.ShouldContain(j => j.State == LatencyJobState.Measuring && j.Progress > 0 && j.Progress < 1, "progress is reported");
    }

    [Fact]
    public async Task MeasureNow_TimesATextModel_OnFullSequencesOfItsInputSize()
    {
        const string house = "bert_mlm.mini_house";
        Latency.Unsupported(_host.Services.GetRequiredService<ZooCatalog>().ManifestOf(house)!).ShouldBeNull();

        var attempt = await Latency.MeasureNowAsync(house, batch: 2);

        attempt.Refusal.ShouldBeNull();
        var row = (await Latency.HistoryAsync(house)).ShouldHaveSingleItem();
        (row.Architecture, row.Batch, row.InputSize).ShouldBe(("bert_mlm", 2, 128));
        row.MedianMs.ShouldBeGreaterThan(0);
        row.SoftwareVersions.ShouldNotContain("channels-last");
    }

    [Fact]
    public void Requests_ForUnknownModels_OrAnOutOfRangeBatch_AreRefused()
    {
        Latency.Request("nope.none").Outcome.ShouldBe(LatencyRequestOutcome.NotFound);
        Latency.Request(Small, batch: 0).Outcome.ShouldBe(LatencyRequestOutcome.Unsupported);
        Latency.Request(Small, batch: 10_000).Outcome.ShouldBe(LatencyRequestOutcome.Unsupported);
        Latency.JobOf(Small).ShouldBeNull();
    }
}
