using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>One recorded value of a metric: its step (per-step values) or epoch, and seconds since training began.</summary>
public sealed record MetricPoint(int? Step, int Epoch, double? Elapsed, double Value);

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
    IDbContextFactory<ZooDbContext> dbs, ZooCatalog catalog, DatasetStore datasets, IStrategyCatalog strategies,
    RunQueueSignal signal, RunCancellations cancellations, RunEventRecorder recorder, TimeProvider clock, SourceRuns sourceRuns)
{
    /// <summary>Checks a request as a launch would, without storing anything (the form's live validation).</summary>
    public RunCheck Check(RunRequest request)
    {
        var check = RunRequestValidator.Validate(request, strategies, catalog.FactsOf, datasets.Find, sourceRuns.FactsOf);
        if (check.Ok && catalog.ManifestOf(request.ModelId) is { Text: not null } m && catalog.TextFilesOf(m) is { Files: null } lookup)
            return check with { Errors = new Dictionary<string, string> { ["ModelId"] = lookup.MissingMessage(m.Id) }, Options = null };
        return check;
    }

    public async Task<LaunchResult> LaunchAsync(RunRequest request, CancellationToken ct = default) =>
        await LaunchAsync(request, experimentId: null, ownerId: null, ct);

    /// <summary>Launches a run owned by <paramref name="ownerId"/> (the account's id; null: owned by nobody, as with
    /// accounts off, so only admins may manage it).</summary>
    public async Task<LaunchResult> LaunchAsync(RunRequest request, string? ownerId, CancellationToken ct) =>
        await LaunchAsync(request, experimentId: null, ownerId, ct);

    /// <summary>Validates, stores and queues a run. The stored request names the strategy by its id and carries
    /// every option's value, defaults included, so the record says exactly what ran.</summary>
    internal async Task<LaunchResult> LaunchAsync(RunRequest request, Guid? experimentId, string? ownerId, CancellationToken ct)
    {
        var check = Check(request);
        if (!check.Ok) return new LaunchResult(null, check.Errors);
        // The run records exactly what it trains with: every option, and the augmentations it would take from the
        // dataset now (the dataset's profile can be edited before the worker gets to the run, or before a resume).
        var h = request.HyperParameters;
        if (h.Augment && h.Augmentation is null && datasets.Find(request.DatasetId) is { Modality: DatasetModality.Image } data)
            h = h with { Augmentation = AugmentationProfile.For(data) };
        request = request with
        {
            Strategy = check.Strategy!.Id,
            Options = StrategyOptionsReader.ToJson(check.Options!),
            TargetDatasetId = string.IsNullOrWhiteSpace(request.TargetDatasetId) ? null : request.TargetDatasetId,
            TaskDatasetIds = request.TaskDatasetIds is { Count: > 0 } t ? t.Select(x => x.Trim()).ToList() : null,
            HyperParameters = h,
        };
        if (request.BaselineFor is { } of && await GetAsync(of, ct) is null)
            return new LaunchResult(null, new Dictionary<string, string> { ["BaselineFor"] = $"Run {of} does not exist." });
        var run = new RunRecord
        {
            Id = Guid.CreateVersion7(),
            Name = string.IsNullOrWhiteSpace(request.Name) ? null : request.Name.Trim(),
            ModelId = request.ModelId,
            DatasetId = request.DatasetId,
            TargetDatasetId = request.TargetDatasetId,
            Strategy = request.Strategy,
            BaselineForId = request.BaselineFor,
            ExperimentId = experimentId,
            LabelsPerClass = request.HyperParameters.LabelsPerClass,
            RequestJson = RunJson.Write(request),
            Status = RunStatus.Queued,
            CreatedAt = clock.GetUtcNow(),
            OwnerId = ownerId,
        };
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            db.Runs.Add(run);
            await db.SaveChangesAsync(ct);
        }
        await recorder.RecordAsync(run.Id, RunEventKind.Status, new StatusChange(RunStatus.Queued, "Queued"), ct);
        signal.Notify();
        return new LaunchResult(run.Id, check.Errors);
    }

    /// <summary>
    /// The scratch baseline of a run: the same model, data, label budget, training settings and seed, with the
    /// scratch strategy (random initialisation, no pretrained weights). Refused for a run that is itself scratch.
    /// </summary>
    public Task<LaunchResult> LaunchBaselineAsync(Guid runId, CancellationToken ct = default) => LaunchBaselineAsync(runId, null, ct);

    /// <summary>The scratch baseline, owned by whoever launches it (not necessarily the run's owner).</summary>
    public async Task<LaunchResult> LaunchBaselineAsync(Guid runId, string? ownerId, CancellationToken ct)
    {
        if (await GetAsync(runId, ct) is not { } run)
            return new LaunchResult(null, new Dictionary<string, string> { ["BaselineFor"] = $"Run {runId} does not exist." });
        var scratch = strategies.All.FirstOrDefault(s => !s.Info.UsesPretrainedWeights);
        if (scratch is null)
            return new LaunchResult(null, new Dictionary<string, string> { ["Strategy"] = "This installation offers no scratch strategy." });
        if (run.Strategy == scratch.Id)
            return new LaunchResult(null, new Dictionary<string, string> { ["Strategy"] = $"Run {runId} is already trained from scratch." });
        var request = run.Request with
        {
            Strategy = scratch.Id, Options = null, TargetDatasetId = null, TaskDatasetIds = null, SourceRunId = null, BaselineFor = runId,
            Name = $"Scratch baseline of {run.Name ?? $"{run.ModelId} on {run.DatasetId}"}",
        };
        if (request.Name!.Length > 200) request = request with { Name = request.Name[..200] };
        return await LaunchAsync(request, ownerId, ct);
    }

    /// <summary>Runs that are the scratch baseline of <paramref name="runId"/>, newest first.</summary>
    public async Task<IReadOnlyList<RunView>> BaselinesOfAsync(Guid runId, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await db.Runs.AsNoTracking().Where(r => r.BaselineForId == runId).OrderByDescending(r => r.CreatedAt).ToListAsync(ct);
        var queued = await QueueOrderAsync(db, ct);
        return rows.Select(r => ToView(r, queued, includeCard: false)).ToList();
    }

    /// <summary>Succeeded runs of a model on any of the datasets with a label budget (null: every label), newest first:
    /// the candidates a multi-task run's tasks are compared with (<see cref="Core.Runs.Compare.TaskComparison"/>).</summary>
    public async Task<IReadOnlyList<RunView>> SucceededRunsOfAsync(string modelId, IReadOnlyCollection<string> datasetIds, int? labelsPerClass,
        CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var ids = datasetIds.ToList();
        var rows = await db.Runs.AsNoTracking()
            .Where(r => r.ModelId == modelId && ids.Contains(r.DatasetId) && r.Status == RunStatus.Succeeded && r.LabelsPerClass == labelsPerClass)
            .OrderByDescending(r => r.CreatedAt).Take(500).ToListAsync(ct);
        return rows.Select(r => ToView(r, [], includeCard: false)).ToList();
    }

    /// <summary>A metric's values of a run in order (per step or per epoch, as recorded).</summary>
    public async Task<IReadOnlyList<MetricPoint>> MetricAsync(Guid runId, string name, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.RunMetrics.AsNoTracking().Where(m => m.RunId == runId && m.Name == name).OrderBy(m => m.Seq)
            .Select(m => new MetricPoint(m.Step, m.Epoch, m.Elapsed, m.Value)).ToListAsync(ct);
    }

    /// <summary>The names of the values a run has recorded.</summary>
    public async Task<IReadOnlyList<string>> MetricNamesAsync(Guid runId, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.RunMetrics.AsNoTracking().Where(m => m.RunId == runId).Select(m => m.Name).Distinct().OrderBy(n => n).ToListAsync(ct);
    }

    public async Task<IReadOnlyList<RunView>> ListAsync(int take = 200, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var runs = await db.Runs.AsNoTracking().OrderByDescending(r => r.CreatedAt).Take(take).ToListAsync(ct);
        var queued = await QueueOrderAsync(db, ct);
        return runs.Select(r => ToView(r, queued, includeCard: false)).ToList();
    }

    /// <summary>The runs one account launched, newest first.</summary>
    public async Task<IReadOnlyList<RunView>> ListOwnedAsync(string ownerId, int take = 200, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var runs = await db.Runs.AsNoTracking().Where(r => r.OwnerId == ownerId).OrderByDescending(r => r.CreatedAt).Take(take).ToListAsync(ct);
        var queued = await QueueOrderAsync(db, ct);
        return runs.Select(r => ToView(r, queued, includeCard: false)).ToList();
    }

    public async Task<RunView?> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Runs.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (r is null) return null;
        // The generated card; the card people read (with its written sections and the seeds of its experiment cell)
        // is Cards/CardService's, which the API and pages serve.
        return ToView(r, await QueueOrderAsync(db, ct), includeCard: true);
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

    /// <summary>Queued runs in the order the worker claims them (oldest first), for each view's queue position.</summary>
    internal static async Task<List<Guid>> QueueOrderAsync(ZooDbContext db, CancellationToken ct) =>
        await db.Runs.AsNoTracking().Where(r => r.Status == RunStatus.Queued).OrderBy(r => r.CreatedAt).Select(r => r.Id).ToListAsync(ct);

    internal static RunView ToView(RunRecord r, List<Guid> queue, bool includeCard) => new()
    {
        Id = r.Id, Name = r.Name, ModelId = r.ModelId, DatasetId = r.DatasetId, Strategy = r.Strategy, Status = r.Status,
        TargetDatasetId = r.TargetDatasetId, BaselineFor = r.BaselineForId, ExperimentId = r.ExperimentId, Resumes = r.Resumes,
        OwnerId = r.OwnerId,
        CreatedAt = r.CreatedAt, StartedAt = r.StartedAt, FinishedAt = r.FinishedAt, Device = r.Device, Error = r.Error,
        CancelRequested = r.CancelRequested,
        Request = RunJson.Read<RunRequest>(r.RequestJson),
        Result = r.ResultJson is null ? null : RunJson.Read<RunResult>(r.ResultJson),
        CardMarkdown = includeCard ? r.CardMarkdown : null,
        QueuePosition = r.Status == RunStatus.Queued && queue.IndexOf(r.Id) is var i and >= 0 ? i + 1 : null,
    };
}
