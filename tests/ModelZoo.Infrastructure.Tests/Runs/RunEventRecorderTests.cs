using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Infrastructure.Tests.Runs;

/// <summary>The recorder between the training thread, the database and the live clients.</summary>
public class RunEventRecorderTests
{
    sealed class Unused : IRunTrainer
    {
        public string Device => "CPU (test)";
        public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct) => throw new NotSupportedException();
    }

    /// <summary>A client that never reads: every send waits until the test ends.</summary>
    sealed class StalledClient : IRunEventBroadcaster
    {
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Sends;
        public async Task PublishAsync(RunEvent e, CancellationToken ct = default) { Interlocked.Increment(ref Sends); await Release.Task; }
    }

    sealed class CountingClient : IRunEventBroadcaster
    {
        public readonly List<long> Seqs = [];
        public Task PublishAsync(RunEvent e, CancellationToken ct = default) { lock (Seqs) Seqs.Add(e.Seq); return Task.CompletedTask; }
    }

    static async Task<(TestHost Host, Guid Run)> StartAsync()
    {
        var host = new TestHost(new Unused(), startWorker: false);
        await host.StartAsync();
        var id = (await host.Services.GetRequiredService<RunService>().LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny" })).RunId!.Value;
        return (host, id);
    }

    static StepProgress Step(int i) => StepProgress.Of(1, i, 100_000, i, 100_000, 1.0 / i, 1e-3, 1000, 1, i * 0.001, new Dictionary<string, double> { ["extra"] = i });

    [Fact]
    public async Task AStalledClient_DoesNotSlowTheTrainingThread_AndTheHistoryKeepsEveryEvent()
    {
        var (host, id) = await StartAsync();
        await using var _ = host;
        var stalled = new StalledClient();
        var dbs = host.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>();
        await using var recorder = new RunEventRecorder(dbs, [stalled], TimeProvider.System, NullLogger<RunEventRecorder>.Instance);

        // 20,000 steps, as a fast feature-extraction run produces: the training thread only queues them.
        const int n = 20_000;
        var watch = Stopwatch.StartNew();
        for (int i = 1; i <= n; i++) recorder.Enqueue(id, RunEventKind.Step, Step(i));
        var queueing = watch.Elapsed;
        var last = recorder.Flush(id);
        stalled.Release.TrySetResult();

        queueing.ShouldBeLessThan(TimeSpan.FromSeconds(5), "queueing never waits for the stalled client");
        stalled.Sends.ShouldBeGreaterThan(0);
        await using var db = await dbs.CreateDbContextAsync();
        var seqs = await db.RunEvents.Where(e => e.RunId == id && e.Kind == RunEventKind.Step).Select(e => e.Seq).OrderBy(s => s).ToListAsync();
        seqs.Count.ShouldBe(n);
        seqs.ShouldBe(Enumerable.Range(2, n).Select(i => (long)i), "after the launch's Queued status, every step once, in order");
        last.ShouldBe(n + 1);
        (await db.Runs.Where(r => r.Id == id).Select(r => r.LastSeq).SingleAsync()).ShouldBe(n + 1);
        (await db.RunMetrics.CountAsync(m => m.RunId == id)).ShouldBe(3 * n, "loss, lr and the extra value of every step");
    }

    [Fact]
    public async Task Flush_ReturnsOnlyWhenEveryQueuedEventIsStored_AndRelaysAfterStoring()
    {
        var (host, id) = await StartAsync();
        await using var _ = host;
        var client = new CountingClient();
        var dbs = host.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>();
        await using var recorder = new RunEventRecorder(dbs, [client], TimeProvider.System, NullLogger<RunEventRecorder>.Instance);
        for (int i = 1; i <= 500; i++) recorder.Enqueue(id, RunEventKind.Step, Step(i));
        recorder.Enqueue(id, RunEventKind.Epoch, EpochMetrics.Of(1, 1, 0.5, 0.8, 0.6, 0.75, 2, new Dictionary<string, double> { ["target_val_acc"] = 0.4 }));
        var last = recorder.Flush(id);

        await using var db = await dbs.CreateDbContextAsync();
        (await db.RunEvents.CountAsync(e => e.RunId == id)).ShouldBe((int)last, "Flush returned after the last event was stored");
        (await db.RunMetrics.Where(m => m.RunId == id && m.Name == "target_val_acc").Select(m => m.Value).SingleAsync()).ShouldBe(0.4);
        var runs = host.Services.GetRequiredService<RunService>();
        (await runs.MetricAsync(id, MetricNames.Loss)).Select(p => p.Step).ShouldBe(Enumerable.Range(1, 500).Select(i => (int?)i));
        (await runs.MetricNamesAsync(id)).ShouldBe(["extra", "loss", "lr", "target_val_acc", "train_acc", "train_loss", "val_acc", "val_loss"]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (client.Seqs.Count < 501 && DateTime.UtcNow < deadline) await Task.Delay(20);
        lock (client.Seqs) client.Seqs.ShouldBe(Enumerable.Range(2, 501).Select(i => (long)i), "relayed in order, once each");
    }

    [Fact]
    public async Task Truncate_ForgetsEventsAndValuesAfterACheckpoint_AndNumberingGoesOnFromThere()
    {
        var (host, id) = await StartAsync();
        await using var _ = host;
        var recorder = host.Services.GetRequiredService<RunEventRecorder>();
        for (int i = 1; i <= 10; i++) recorder.Enqueue(id, RunEventKind.Step, Step(i));
        recorder.Flush(id);
        await recorder.TruncateAsync(id, 6);
        var e = await recorder.RecordAsync(id, RunEventKind.Status, new StatusChange(RunStatus.Running, "Resuming"));
        e.Seq.ShouldBe(7);
        var runs = host.Services.GetRequiredService<RunService>();
        (await runs.EventsAsync(id)).Select(x => x.Seq).ShouldBe(Enumerable.Range(1, 7).Select(i => (long)i));
        (await runs.MetricAsync(id, MetricNames.Loss)).Select(p => p.Step).ShouldBe([1, 2, 3, 4, 5]);
    }

    /// <summary>The public sink benchmarks use to train a run outside the worker records exactly as the worker's does.</summary>
    [Fact]
    public async Task ProgressFor_StoresTheRunsEventsInOrder_AndFlushReturnsTheLastNumber()
    {
        var (host, id) = await StartAsync();
        await using var _ = host;
        var progress = host.Services.GetRequiredService<RunEventRecorder>().ProgressFor(id);
        for (int i = 1; i <= 5; i++) progress.Step(Step(i));
        progress.Epoch(EpochMetrics.Of(1, 1, 0.5, 0.8, 0.6, 0.75, 2));
        progress.Flush().ShouldBe(7, "the launch's Queued status, five steps and the epoch");
        var events = await host.Services.GetRequiredService<RunService>().EventsAsync(id);
        events.Select(e => e.Kind).ShouldBe([RunEventKind.Status, .. Enumerable.Repeat(RunEventKind.Step, 5), RunEventKind.Epoch]);
        events.Where(e => e.Step is not null).Select(e => e.Step!.Step).ShouldBe([1, 2, 3, 4, 5]);
    }
}
