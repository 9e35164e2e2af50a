using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>A sweep with its runs, for its page and the API.</summary>
public sealed record SweepView(Guid Id, string ModelId, string DatasetId, DateTimeOffset CreatedAt, RunRequest Request, IReadOnlyList<RunView> Runs);

/// <summary>The sweep's launch: its id, or the errors by field.</summary>
public sealed record SweepLaunch(Guid? SweepId, IReadOnlyList<Guid> RunIds, IReadOnlyDictionary<string, string> Errors)
{
    public bool Ok => SweepId is not null;
}

/// <summary>
/// The transferability sweep: for one backbone and dataset, with one budget and seed, feature extraction, partial
/// fine-tuning at every frozen depth from 0 (all stages train) to the model's full depth (only the head), full
/// fine-tuning and scratch, queued together. Its page plots test accuracy against frozen depth: where the curve
/// peaks says how much of the pretrained backbone this data wants to keep. Stored as an experiment of kind
/// <c>sweep</c> whose plan is the shared request; <see cref="GetAsync"/> answers only for that kind.
/// </summary>
public sealed class SweepService(IDbContextFactory<ZooDbContext> dbs, RunService runs, ZooCatalog catalog, TimeProvider clock)
{
    public const string FeatureExtraction = "feature-extraction", Partial = "partial-fine-tune", Full = "full-fine-tune", Scratch = "scratch";

    /// <summary>The sweep's requests, in the order they are queued (shallow to deep, then the references).</summary>
    public IReadOnlyList<RunRequest> Plan(RunRequest request)
    {
        var facts = catalog.FactsOf(request.ModelId);
        var depth = facts?.BackboneStages.Count ?? 0;
        var baseName = string.IsNullOrWhiteSpace(request.Name) ? $"Sweep {request.ModelId} on {request.DatasetId}" : request.Name.Trim();
        RunRequest With(string strategy, JsonObject? options, string label) =>
            request with { Strategy = strategy, Options = options, TargetDatasetId = null, BaselineFor = null, Name = Cut($"{baseName}: {label}") };
        var plan = new List<RunRequest> { With(FeatureExtraction, null, "feature extraction") };
        for (int d = 0; d <= depth; d++)
            plan.Add(With(Partial, new JsonObject { ["frozenStages"] = d }, $"{d} frozen"));
        plan.Add(With(Full, null, "full fine-tune"));
        plan.Add(With(Scratch, null, "scratch"));
        return plan;
    }

    public Task<SweepLaunch> LaunchAsync(RunRequest request, CancellationToken ct = default) => LaunchAsync(request, null, ct);

    /// <summary>Launches a sweep owned by <paramref name="ownerId"/>, as are its runs.</summary>
    public async Task<SweepLaunch> LaunchAsync(RunRequest request, string? ownerId, CancellationToken ct)
    {
        var plan = Plan(request);
        // Every run is checked before any is queued: a sweep starts whole or not at all.
        foreach (var r in plan)
        {
            var check = runs.Check(r);
            if (!check.Ok) return new SweepLaunch(null, [], check.Errors);
        }
        var sweep = new ExperimentRecord
        {
            Id = Guid.CreateVersion7(), Kind = ExperimentKind.Sweep, Name = Cut($"Sweep {request.ModelId} on {request.DatasetId}"),
            DatasetId = request.DatasetId, PlanJson = RunJson.Write(request with { Strategy = "", Options = null }), CreatedAt = clock.GetUtcNow(),
            OwnerId = ownerId,
        };
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            db.Experiments.Add(sweep);
            await db.SaveChangesAsync(ct);
        }
        var ids = new List<Guid>();
        foreach (var r in plan)
        {
            var launched = await runs.LaunchAsync(r, sweep.Id, ownerId, ct);
            if (launched.RunId is { } id) ids.Add(id);
        }
        return new SweepLaunch(sweep.Id, ids, new Dictionary<string, string>());
    }

    public async Task<SweepView?> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var s = await db.Experiments.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id && x.Kind == ExperimentKind.Sweep, ct);
        if (s is null) return null;
        var request = RunJson.Read<RunRequest>(s.PlanJson);
        var rows = await db.Runs.AsNoTracking().Where(r => r.ExperimentId == id).OrderBy(r => r.CreatedAt).ToListAsync(ct);
        var queue = await RunService.QueueOrderAsync(db, ct);
        return new SweepView(s.Id, request.ModelId, s.DatasetId, s.CreatedAt, request,
            rows.Select(r => RunService.ToView(r, queue, includeCard: false)).ToList());
    }

    static string Cut(string s) => s.Length <= 200 ? s : s[..200];
}
