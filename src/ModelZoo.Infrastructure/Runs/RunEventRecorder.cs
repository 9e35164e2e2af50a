using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>
/// Numbers, stores and relays a run's progress events. Stored first, then broadcast, so a client that joins late
/// and reads the history can never miss an event that was already sent; the sequence number removes duplicates.
/// </summary>
public sealed class RunEventRecorder(
    IDbContextFactory<ZooDbContext> dbs, IEnumerable<IRunEventBroadcaster> broadcasters, TimeProvider clock, ILogger<RunEventRecorder> log)
{
    readonly ConcurrentDictionary<Guid, SemaphoreSlim> _locks = new();

    public async Task<RunEvent> RecordAsync(Guid runId, RunEventKind kind, object payload, CancellationToken ct = default)
    {
        var gate = _locks.GetOrAdd(runId, _ => new SemaphoreSlim(1, 1));
        RunEvent e;
        // Not the caller's token: an event of a run being cancelled (its final status) must still be stored.
        await gate.WaitAsync(CancellationToken.None);
        try
        {
            await using var db = await dbs.CreateDbContextAsync(CancellationToken.None);
            var run = await db.Runs.FirstAsync(r => r.Id == runId, CancellationToken.None);
            run.LastSeq++;
            var record = new RunEventRecord
            {
                RunId = runId, Seq = run.LastSeq, Kind = kind, At = clock.GetUtcNow(), PayloadJson = RunJson.Write(payload),
            };
            db.RunEvents.Add(record);
            await db.SaveChangesAsync(CancellationToken.None);
            e = ToEvent(record);
        }
        finally { gate.Release(); }

        foreach (var b in broadcasters)
        {
            try { await b.PublishAsync(e, CancellationToken.None); }
            catch (Exception ex) { log.LogWarning(ex, "Broadcasting event {Seq} of run {Run} failed", e.Seq, runId); }
        }
        return e;
    }

    public static RunEvent ToEvent(RunEventRecord r) => new()
    {
        RunId = r.RunId, Seq = r.Seq, Kind = r.Kind, At = r.At,
        Step = r.Kind == RunEventKind.Step ? RunJson.Read<StepProgress>(r.PayloadJson) : null,
        Epoch = r.Kind == RunEventKind.Epoch ? RunJson.Read<EpochMetrics>(r.PayloadJson) : null,
        Status = r.Kind == RunEventKind.Status ? RunJson.Read<StatusChange>(r.PayloadJson) : null,
    };
}

/// <summary>The trainer's progress sink for one run: forwards to the recorder from the training thread.</summary>
internal sealed class RecordingProgress(RunEventRecorder recorder, Guid runId) : IRunProgress
{
    public void Status(StatusChange status) => Record(RunEventKind.Status, status);
    public void Step(StepProgress step) => Record(RunEventKind.Step, step);
    public void Epoch(EpochMetrics epoch) => Record(RunEventKind.Epoch, epoch);

    // The trainer runs on its own dedicated thread; blocking it for one SQLite insert keeps events in order.
    void Record(RunEventKind kind, object payload) => recorder.RecordAsync(runId, kind, payload).GetAwaiter().GetResult();
}
