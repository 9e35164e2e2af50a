using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.DomainGap;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Experiments;

namespace ModelZoo.Infrastructure.DomainGap;

/// <summary>A trio with its runs and the report built from them.</summary>
public sealed record TrioView(Guid Id, string? Name, DateTimeOffset CreatedAt, DateTimeOffset? CancelledAt, DomainGapTrioRequest Request,
    DomainGapReport? Gap, IReadOnlyList<RunView> Runs, IReadOnlyList<TrioSlot> Slots, TrioReport Report)
{
    /// <summary>The account that launched it; null when nobody owns it.</summary>
    public string? OwnerId { get; init; }
}

/// <summary>A trio in a list.</summary>
public sealed record TrioSummary(Guid Id, string? Name, string ModelId, string SourceDatasetId, string TargetDatasetId, DateTimeOffset CreatedAt,
    int Runs, int Finished);

/// <summary>The launch: the trio's id and its runs, or the errors by field (nothing was stored or queued).</summary>
public sealed record TrioLaunch(Guid? TrioId, IReadOnlyList<Guid> RunIds, IReadOnlyDictionary<string, string> Errors)
{
    public bool Ok => TrioId is not null;
}

/// <summary>
/// The domain-gap report's trio: source only, DANN and the oracle over seeds, planned in Core (<see cref="TrioPlan"/>),
/// every run checked as a launch would check it before anything is stored, then queued as ordinary runs of an
/// experiment of kind <c>domain-gap</c> whose plan (<see cref="TrioLayout"/>) keeps each run's arm and seed and the gap
/// measured before launch. The worker, the queue, the run pages and experiment cancellation need nothing new.
/// </summary>
public sealed class DomainGapTrioService(IDbContextFactory<ZooDbContext> dbs, RunService runs, DomainGapService gaps, ExperimentService experiments,
    TimeProvider clock)
{
    /// <summary>The request's errors by the trio's fields (<c>ModelId</c>, <c>SourceDatasetId</c>, <c>TargetDatasetId</c>,
    /// <c>Seeds</c>, <c>GapExamples</c>, <c>HyperParameters.*</c>); empty when every run would launch.</summary>
    public IReadOnlyDictionary<string, string> Check(DomainGapTrioRequest request) => Check(request, out _);

    IReadOnlyDictionary<string, string> Check(DomainGapTrioRequest request, out IReadOnlyList<PlannedTrioRun> planned)
    {
        var (plan, errors) = TrioPlan.Build(request);
        planned = plan;
        var all = new Dictionary<string, string>(errors);
        if (request.MeasureGap)
            foreach (var (key, message) in gaps.Check(GapRequest(request)))
                all.TryAdd(TrioField(key), message);
        foreach (var run in plan)
        {
            var check = runs.Check(run.Request);
            if (check.Ok) continue;
            foreach (var (field, message) in TrioPlan.ErrorsOf(run, check.Errors)) all.TryAdd(field, message);
        }
        return all;
    }

    /// <summary>A gap measurement's error key as the trio's field: its examples and input size are the trio's settings.</summary>
    public static string TrioField(string gapField) => gapField switch
    {
        "Examples" => "GapExamples", "ImageSize" => "HyperParameters.ImageSize", "Seed" => "Seeds", _ => gapField,
    };

    static DomainGapRequest GapRequest(DomainGapTrioRequest r) => new()
    {
        ModelId = r.ModelId, SourceDatasetId = r.SourceDatasetId, TargetDatasetId = r.TargetDatasetId, Examples = r.GapExamples,
        Seed = r.Seeds.Count > 0 ? r.Seeds[0] : 1, ImageSize = r.HyperParameters.ImageSize,
    };

    /// <summary>Checks, measures the gap if asked (so a measurement that fails stores nothing), stores the trio and
    /// queues its runs, arm by arm. <paramref name="measured"/>: a gap the caller has just measured for the same model
    /// and datasets (the page's "Measure gap"), kept instead of measuring again.</summary>
    /// <exception cref="InvalidOperationException">The gap cannot be measured (the model's files or the data cannot be
    /// loaded); nothing was stored.</exception>
    public async Task<TrioLaunch> LaunchAsync(DomainGapTrioRequest request, string? ownerId, CancellationToken ct, DomainGapReport? measured = null)
    {
        var errors = Check(request, out var plan);
        if (errors.Count > 0) return new TrioLaunch(null, [], errors);

        var gap = measured is { } m && Same(m.Request, request) ? m
            : request.MeasureGap ? await gaps.MeasureAsync(GapRequest(request), ct) : null;
        var record = new ExperimentRecord
        {
            Id = Guid.CreateVersion7(), Kind = ExperimentKind.DomainGap, DatasetId = request.TargetDatasetId.Trim(),
            Name = string.IsNullOrWhiteSpace(request.Name) ? $"Domain gap {request.SourceDatasetId.Trim()} → {request.TargetDatasetId.Trim()}" : Cut(request.Name.Trim()),
            PlanJson = RunJson.Write(new TrioLayout(request, gap, [])), CreatedAt = clock.GetUtcNow(), OwnerId = ownerId,
        };
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            db.Experiments.Add(record);
            await db.SaveChangesAsync(ct);
        }
        var slots = new List<TrioSlot>();
        foreach (var run in plan)
            if ((await runs.LaunchAsync(run.Request, record.Id, ownerId, ct)).RunId is { } id)
                slots.Add(new TrioSlot(id, run.Arm, run.Seed));
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            var json = RunJson.Write(new TrioLayout(request, gap, slots));
            await db.Experiments.Where(x => x.Id == record.Id).ExecuteUpdateAsync(s => s.SetProperty(x => x.PlanJson, json), ct);
        }
        return new TrioLaunch(record.Id, slots.Select(s => s.RunId).ToList(), new Dictionary<string, string>());
    }

    static bool Same(DomainGapRequest g, DomainGapTrioRequest r) =>
        g.ModelId == r.ModelId.Trim() && g.SourceDatasetId == r.SourceDatasetId.Trim() && g.TargetDatasetId == r.TargetDatasetId.Trim();

    /// <summary>The trio, its runs' current statuses and the report over those that finished; null for an unknown id or
    /// an experiment of another kind.</summary>
    public async Task<TrioView?> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var x = await db.Experiments.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id && e.Kind == ExperimentKind.DomainGap, ct);
        if (x is null) return null;
        var layout = RunJson.Read<TrioLayout>(x.PlanJson);
        var rows = await db.Runs.AsNoTracking().Where(r => r.ExperimentId == id).ToListAsync(ct);
        var queue = await RunService.QueueOrderAsync(db, ct);
        var byId = rows.ToDictionary(r => r.Id, r => RunService.ToView(r, queue, includeCard: false));
        // Slot order (arm, then seed) is the order the page lists the runs in.
        var views = layout.Slots.Where(s => byId.ContainsKey(s.RunId)).Select(s => byId[s.RunId]).ToList();
        var report = TrioReport.Build(layout.Slots.Where(s => byId.ContainsKey(s.RunId)).Select(s =>
        {
            var r = byId[s.RunId];
            return new TrioRun(r.Id, s.Arm, s.Seed, r.Status, r.Result?.TestAccuracy);
        }));
        return new TrioView(x.Id, x.Name, x.CreatedAt, x.CancelledAt, layout.Request, layout.Gap, views, layout.Slots, report) { OwnerId = x.OwnerId };
    }

    /// <summary>Every trio, newest first, with its runs counted.</summary>
    public async Task<IReadOnlyList<TrioSummary>> ListAsync(int take = 100, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await db.Experiments.AsNoTracking().Where(x => x.Kind == ExperimentKind.DomainGap)
            .OrderByDescending(x => x.CreatedAt).Take(take).ToListAsync(ct);
        var ids = rows.Select(x => x.Id).ToList();
        var counts = (await db.Runs.AsNoTracking().Where(r => r.ExperimentId != null && ids.Contains(r.ExperimentId.Value))
            .Select(r => new { r.ExperimentId, r.Status }).ToListAsync(ct)).ToLookup(r => r.ExperimentId!.Value);
        return rows.Select(x =>
        {
            var request = RunJson.Read<TrioLayout>(x.PlanJson).Request;
            return new TrioSummary(x.Id, x.Name, request.ModelId, request.SourceDatasetId, request.TargetDatasetId, x.CreatedAt,
                counts[x.Id].Count(), counts[x.Id].Count(r => r.Status.IsTerminal()));
        }).ToList();
    }

    /// <summary>Cancels the trio's unfinished runs (as an experiment's); null for an unknown id.</summary>
    public async Task<ExperimentCancel?> CancelAsync(Guid id, CancellationToken ct = default) =>
        await GetAsync(id, ct) is null ? null : await experiments.CancelAsync(id, ct);

    static string Cut(string s) => s.Length <= 200 ? s : s[..200];
}
