using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs.Experiments;

/// <summary>An experiment in a list: what it is and how far its runs have got.</summary>
public sealed record ExperimentSummary(
    Guid Id, string Kind, string? Name, string DatasetId, DateTimeOffset CreatedAt, DateTimeOffset? CancelledAt,
    int Runs, int Queued, int Running, int Succeeded, int Failed, int Cancelled);

/// <summary>An experiment with its runs and, for a grid, the grid of results (a sweep has its own page and chart).</summary>
public sealed record ExperimentView(
    Guid Id, string Kind, string? Name, string DatasetId, DateTimeOffset CreatedAt, DateTimeOffset? CancelledAt,
    ExperimentRequest? Request, RunRequest? SweepRequest, IReadOnlyList<RunView> Runs, ExperimentGrid? Grid)
{
    /// <summary>The account that launched it; null when nobody owns it.</summary>
    public string? OwnerId { get; init; }
}

/// <summary>The launch: the experiment's id and its runs, or the errors by field (nothing was queued).</summary>
public sealed record ExperimentLaunch(Guid? ExperimentId, IReadOnlyList<Guid> RunIds, IReadOnlyDictionary<string, string> Errors)
{
    public bool Ok => ExperimentId is not null;
}

/// <summary>What cancelling an experiment did: each of its unfinished runs and what happened to it.</summary>
public sealed record ExperimentCancel(Guid ExperimentId, IReadOnlyDictionary<Guid, RunService.CancelOutcome> Runs);

/// <summary>
/// Launch, list, read and cancel experiments. A grid is planned in Core (<see cref="ExperimentPlan"/>), every planned
/// run is checked as a launch would check it before any is queued, and each run's place in the grid is stored with the
/// experiment. Runs are ordinary runs with <c>ExperimentId</c> set: the worker, the queue and the compare page need
/// nothing new.
/// </summary>
public sealed class ExperimentService(IDbContextFactory<ZooDbContext> dbs, RunService runs, TimeProvider clock)
{
    public Task<ExperimentLaunch> LaunchAsync(ExperimentRequest request, CancellationToken ct = default) => LaunchAsync(request, null, ct);

    /// <summary>Launches a grid owned by <paramref name="ownerId"/>, as are its runs.</summary>
    public async Task<ExperimentLaunch> LaunchAsync(ExperimentRequest request, string? ownerId, CancellationToken ct)
    {
        var planned = ExperimentPlan.Build(request);
        if (planned.Plan is not { } plan) return new ExperimentLaunch(null, [], planned.Errors);

        // Every run is checked before any is queued: an experiment starts whole or not at all. All runs are checked,
        // so a form shows every bad model and arm at once, each under its own field.
        var errors = new Dictionary<string, string>();
        foreach (var run in plan.Runs)
        {
            var check = runs.Check(run.Request);
            if (check.Ok) continue;
            foreach (var (field, message) in plan.ErrorsOf(request, run, check.Errors)) errors.TryAdd(field, message);
        }
        if (errors.Count > 0) return new ExperimentLaunch(null, [], errors);

        var record = new ExperimentRecord
        {
            Id = Guid.CreateVersion7(), Kind = ExperimentKind.Grid, DatasetId = request.DatasetId.Trim(),
            Name = string.IsNullOrWhiteSpace(request.Name) ? null : Cut(request.Name.Trim()),
            PlanJson = RunJson.Write(new GridLayout(request, plan.Models, plan.Columns, [])), CreatedAt = clock.GetUtcNow(),
            OwnerId = ownerId,
        };
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            db.Experiments.Add(record);
            await db.SaveChangesAsync(ct);
        }
        var slots = new List<GridSlot>();
        foreach (var run in plan.Runs)
            if ((await runs.LaunchAsync(run.Request, record.Id, ownerId, ct)).RunId is { } id)
                slots.Add(new GridSlot(id, run.ModelId, run.Column, run.Seed));
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            var json = RunJson.Write(new GridLayout(request, plan.Models, plan.Columns, slots));
            await db.Experiments.Where(x => x.Id == record.Id).ExecuteUpdateAsync(s => s.SetProperty(x => x.PlanJson, json), ct);
        }
        return new ExperimentLaunch(record.Id, slots.Select(s => s.RunId).ToList(), new Dictionary<string, string>());
    }

    /// <summary>Every experiment, newest first, with its runs counted by status.</summary>
    public async Task<IReadOnlyList<ExperimentSummary>> ListAsync(int take = 200, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await db.Experiments.AsNoTracking().OrderByDescending(x => x.CreatedAt).Take(take).ToListAsync(ct);
        var ids = rows.Select(x => x.Id).ToList();
        var counts = (await db.Runs.AsNoTracking().Where(r => r.ExperimentId != null && ids.Contains(r.ExperimentId.Value))
                .GroupBy(r => new { r.ExperimentId, r.Status }).Select(g => new { g.Key.ExperimentId, g.Key.Status, N = g.Count() }).ToListAsync(ct))
            .ToLookup(c => c.ExperimentId!.Value);
        return rows.Select(x =>
        {
            int Of(RunStatus s) => counts[x.Id].Where(c => c.Status == s).Sum(c => c.N);
            return new ExperimentSummary(x.Id, x.Kind, x.Name, x.DatasetId, x.CreatedAt, x.CancelledAt, counts[x.Id].Sum(c => c.N),
                Of(RunStatus.Queued), Of(RunStatus.Running), Of(RunStatus.Succeeded), Of(RunStatus.Failed), Of(RunStatus.Cancelled));
        }).ToList();
    }

    public async Task<ExperimentView?> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var x = await db.Experiments.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct);
        if (x is null) return null;
        var rows = await db.Runs.AsNoTracking().Where(r => r.ExperimentId == id).OrderBy(r => r.CreatedAt).ToListAsync(ct);
        var queue = await RunService.QueueOrderAsync(db, ct);
        var views = rows.Select(r => RunService.ToView(r, queue, includeCard: false)).ToList();
        if (x.Kind != ExperimentKind.Grid)
            // A sweep's plan is its shared request; a domain-gap trio's is its own layout, served by DomainGapTrioService.
            return new ExperimentView(x.Id, x.Kind, x.Name, x.DatasetId, x.CreatedAt, x.CancelledAt, null,
                x.Kind == ExperimentKind.Sweep ? RunJson.Read<RunRequest>(x.PlanJson) : null, views, null) { OwnerId = x.OwnerId };
        var layout = RunJson.Read<GridLayout>(x.PlanJson);
        return new ExperimentView(x.Id, x.Kind, x.Name, x.DatasetId, x.CreatedAt, x.CancelledAt, layout.Request, null, views, GridOf(layout, views)) { OwnerId = x.OwnerId };
    }

    /// <summary>The grid from the stored slots and the runs' current statuses and results.</summary>
    public static ExperimentGrid GridOf(GridLayout layout, IReadOnlyList<RunView> runs)
    {
        var byId = runs.ToDictionary(r => r.Id);
        return ExperimentGrid.Build(layout.Models, layout.Columns, layout.Slots.Where(s => byId.ContainsKey(s.RunId)).Select(s =>
        {
            var r = byId[s.RunId];
            return new GridRun(r.Id, s.ModelId, s.Column, s.Seed, r.Status, r.Result?.TestAccuracy);
        }));
    }

    /// <summary>Cancels every queued or running run of the experiment and marks it cancelled; null for an unknown id.
    /// Queued runs go first, so the worker cannot claim one of them in the moment the running run takes to stop.</summary>
    public async Task<ExperimentCancel?> CancelAsync(Guid id, CancellationToken ct = default)
    {
        List<(Guid Id, RunStatus Status)> open;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            if (!await db.Experiments.AnyAsync(x => x.Id == id, ct)) return null;
            var now = clock.GetUtcNow();
            await db.Experiments.Where(x => x.Id == id && x.CancelledAt == null).ExecuteUpdateAsync(s => s.SetProperty(x => x.CancelledAt, now), ct);
            open = (await db.Runs.AsNoTracking().Where(r => r.ExperimentId == id && (r.Status == RunStatus.Queued || r.Status == RunStatus.Running))
                .Select(r => new { r.Id, r.Status, r.CreatedAt }).ToListAsync(ct))
                .OrderBy(r => r.Status == RunStatus.Queued ? 0 : 1).ThenBy(r => r.CreatedAt).Select(r => (r.Id, r.Status)).ToList();
        }
        var outcomes = new Dictionary<Guid, RunService.CancelOutcome>();
        foreach (var (run, _) in open) outcomes[run] = await runs.CancelAsync(run, ct);
        return new ExperimentCancel(id, outcomes);
    }

    static string Cut(string s) => s.Length <= 200 ? s : s[..200];
}
