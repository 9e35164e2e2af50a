using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>The outcome of a launch: a run id, or the validation errors keyed by field.</summary>
public sealed record LaunchResult(Guid? RunId, IReadOnlyDictionary<string, string> Errors)
{
    public bool Ok => RunId is not null;
}

/// <summary>
/// Launch, list, get and cancel runs: the operations the UI and the REST API share. Launching only stores and
/// queues; the worker trains.
/// </summary>
public sealed class RunService(
    IDbContextFactory<ZooDbContext> dbs, ZooCatalog catalog, DatasetStore datasets,
    RunQueueSignal signal, RunCancellations cancellations, RunEventRecorder recorder, TimeProvider clock)
{
    public async Task<LaunchResult> LaunchAsync(RunRequest request, CancellationToken ct = default)
    {
        var errors = RunRequestValidator.Validate(request, catalog.Exists, datasets.Exists,
            catalog.ModalityOf, id => datasets.Find(id)?.Modality);
        if (errors.Count == 0 && catalog.ManifestOf(request.ModelId) is { Text: not null } m && catalog.TextFilesOf(m) is { Files: null } lookup)
            errors = new Dictionary<string, string> { ["ModelId"] = lookup.MissingMessage(m.Id) };
        if (errors.Count > 0) return new LaunchResult(null, errors);
        var run = new RunRecord
        {
            Id = Guid.CreateVersion7(),
            Name = string.IsNullOrWhiteSpace(request.Name) ? null : request.Name.Trim(),
            ModelId = request.ModelId,
            DatasetId = request.DatasetId,
            Strategy = request.Strategy,
            RequestJson = RunJson.Write(request),
            Status = RunStatus.Queued,
            CreatedAt = clock.GetUtcNow(),
        };
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            db.Runs.Add(run);
            await db.SaveChangesAsync(ct);
        }
        await recorder.RecordAsync(run.Id, RunEventKind.Status, new StatusChange(RunStatus.Queued, "Queued"), ct);
        signal.Notify();
        return new LaunchResult(run.Id, errors);
    }

    public async Task<IReadOnlyList<RunView>> ListAsync(int take = 200, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var runs = await db.Runs.AsNoTracking().OrderByDescending(r => r.CreatedAt).Take(take).ToListAsync(ct);
        var queued = await QueueOrderAsync(db, ct);
        return runs.Select(r => ToView(r, queued, includeCard: false)).ToList();
    }

    public async Task<RunView?> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Runs.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        return r is null ? null : ToView(r, await QueueOrderAsync(db, ct), includeCard: true);
    }

    public async Task<IReadOnlyList<RunEvent>> EventsAsync(Guid id, long afterSeq = 0, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await db.RunEvents.AsNoTracking().Where(e => e.RunId == id && e.Seq > afterSeq).OrderBy(e => e.Seq).ToListAsync(ct);
        return rows.Select(RunEventRecorder.ToEvent).ToList();
    }

    public enum CancelOutcome { NotFound, AlreadyFinished, Cancelled, CancelRequested }

    /// <summary>A queued run is cancelled at once; a running one stops within one training step.</summary>
    public async Task<CancelOutcome> CancelAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Runs.FirstOrDefaultAsync(x => x.Id == id, ct);
        if (r is null) return CancelOutcome.NotFound;
        if (r.Status.IsTerminal()) return CancelOutcome.AlreadyFinished;
        if (r.Status == RunStatus.Queued)
        {
            // Only if still queued: the worker may have claimed it a moment ago.
            var n = await db.Runs.Where(x => x.Id == id && x.Status == RunStatus.Queued)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.Status, RunStatus.Cancelled)
                    .SetProperty(x => x.FinishedAt, clock.GetUtcNow()).SetProperty(x => x.CancelRequested, true), ct);
            if (n == 1)
            {
                await recorder.RecordAsync(id, RunEventKind.Status, new StatusChange(RunStatus.Cancelled, "Cancelled before it started"), ct);
                return CancelOutcome.Cancelled;
            }
        }
        await db.Runs.Where(x => x.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.CancelRequested, true), ct);
        cancellations.Cancel(id);
        return CancelOutcome.CancelRequested;
    }

    static async Task<List<Guid>> QueueOrderAsync(ZooDbContext db, CancellationToken ct) =>
        await db.Runs.AsNoTracking().Where(r => r.Status == RunStatus.Queued).OrderBy(r => r.CreatedAt).Select(r => r.Id).ToListAsync(ct);

    internal static RunView ToView(RunRecord r, List<Guid> queue, bool includeCard) => new()
    {
        Id = r.Id, Name = r.Name, ModelId = r.ModelId, DatasetId = r.DatasetId, Strategy = r.Strategy, Status = r.Status,
        CreatedAt = r.CreatedAt, StartedAt = r.StartedAt, FinishedAt = r.FinishedAt, Device = r.Device, Error = r.Error,
        CancelRequested = r.CancelRequested,
        Request = RunJson.Read<RunRequest>(r.RequestJson),
        Result = r.ResultJson is null ? null : RunJson.Read<RunResult>(r.ResultJson),
        CardMarkdown = includeCard ? r.CardMarkdown : null,
        QueuePosition = r.Status == RunStatus.Queued && queue.IndexOf(r.Id) is var i and >= 0 ? i + 1 : null,
    };
}
