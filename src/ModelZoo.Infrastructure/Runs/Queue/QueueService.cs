using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Queue;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs.Queue;

/// <summary>
/// Reads what the queue view needs from the run store: every queued and running run (the queue is short, and each
/// row's position and wait depend on all the runs ahead of it), the latest step of each, and the most recent finished
/// runs that pass the filter. The ordering, waits and filtering are <see cref="QueueBoard"/>'s.
/// </summary>
public sealed class QueueService(IDbContextFactory<ZooDbContext> dbs, TimeProvider clock)
{
    public const int DefaultFinished = 50;

    public async Task<QueueBoard> LoadAsync(QueueFilter filter, int finished = DefaultFinished, CancellationToken ct = default) =>
        (await LoadSnapshotAsync(filter, finished, ct)).Board(filter, clock.GetUtcNow());

    public async Task<QueueSnapshot> LoadSnapshotAsync(QueueFilter filter, int finished = DefaultFinished, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var active = await db.Runs.AsNoTracking()
            .Where(r => r.Status == RunStatus.Queued || r.Status == RunStatus.Running)
            .OrderBy(r => r.CreatedAt).ToListAsync(ct);
        var queue = active.Where(r => r.Status == RunStatus.Queued).Select(r => r.Id).ToList();

        // Finished runs are filtered in the database before the limit, so "failed runs of model X" is not limited to
        // whichever of them happen to be among the latest 50 of all runs.
        var done = db.Runs.AsNoTracking()
            .Where(r => r.Status == RunStatus.Succeeded || r.Status == RunStatus.Failed || r.Status == RunStatus.Cancelled);
        if (filter.Statuses.Count > 0)
        {
            var terminal = filter.Statuses.Where(s => s.IsTerminal()).ToList();
            done = done.Where(r => terminal.Contains(r.Status));
        }
        if (filter.ModelId is { } m) done = done.Where(r => r.ModelId == m);
        if (filter.DatasetId is { } d) done = done.Where(r => r.DatasetId == d);
        if (filter.Strategy is { } s) done = done.Where(r => r.Strategy == s);
        if (filter.ExperimentId is { } w) done = done.Where(r => r.ExperimentId == w);
        if (filter.ResumedOnly) done = done.Where(r => r.Resumes > 0);
        var finishedRows = await done.OrderByDescending(r => r.FinishedAt).ThenByDescending(r => r.CreatedAt)
            .Take(Math.Clamp(finished, 0, 1000)).ToListAsync(ct);

        var steps = new Dictionary<Guid, LatestStep>();
        foreach (var r in active)
            if (await LatestStepAsync(db, r.Id, ct) is { } step) steps[r.Id] = step;

        return new QueueSnapshot(
            active.Select(r => RunService.ToView(r, queue, includeCard: false)).ToList(),
            finishedRows.Select(r => RunService.ToView(r, queue, includeCard: false)).ToList(),
            steps);
    }

    static async Task<LatestStep?> LatestStepAsync(ZooDbContext db, Guid runId, CancellationToken ct)
    {
        // The (RunId, Seq) index makes this one seek per run.
        var row = await db.RunEvents.AsNoTracking().Where(e => e.RunId == runId && e.Kind == RunEventKind.Step)
            .OrderByDescending(e => e.Seq).FirstOrDefaultAsync(ct);
        return row is null ? null : new LatestStep(RunEventRecorder.ToEvent(row).Step!, row.At);
    }
}
