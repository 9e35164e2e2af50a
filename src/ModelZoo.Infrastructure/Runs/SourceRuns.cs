using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>
/// Finished runs that another run learns from (<c>RunRequest.SourceRunId</c>: distillation's teacher). Launch checks
/// read their facts; the worker resolves the trained weights file, checked against the run's record as a download is.
/// </summary>
public sealed class SourceRuns(IDbContextFactory<ZooDbContext> dbs, RunOutputs outputs, ZooCatalog catalog)
{
    /// <summary>The run's facts for launch checks; null when there is no such run.</summary>
    public SourceRunFacts? FactsOf(Guid id)
    {
        if (Find(id) is not { } run) return null;
        var weights = run.Status == RunStatus.Succeeded ? outputs.WeightsOf(run) : null;
        return new SourceRunFacts(run.Id, run.Status, run.ModelId, run.Request.TargetDatasetId ?? run.DatasetId, run.Strategy,
            run.Result?.ClassNames ?? [], run.Result?.TotalParameters, weights?.Path is not null)
        {
            Model = catalog.FactsOf(run.ModelId),
            ImageSize = run.Request.HyperParameters?.ImageSize ?? 0,
            TestAccuracy = run.Result?.TestAccuracy,
        };
    }

    /// <exception cref="InvalidOperationException">The run is gone, did not succeed, or its weights file is missing or
    /// changed; the message says which.</exception>
    public SourceRunModel Load(Guid id)
    {
        var run = Find(id) ?? throw new InvalidOperationException($"Source run {id} no longer exists.");
        var weights = outputs.WeightsOf(run);
        if (weights.Path is null) throw new InvalidOperationException(weights.Problem);
        var manifest = catalog.ManifestOf(run.ModelId)
            ?? throw new InvalidOperationException($"Source run {id} was trained from model '{run.ModelId}', which is no longer in the catalogue.");
        return new SourceRunModel(id, weights.Path, manifest, run.Result?.ClassNames ?? [], run.DatasetId)
        {
            ImageSize = run.Request.HyperParameters?.ImageSize ?? 0,
            MeanImagePath = catalog.MeanImagePathOf(manifest),
            TestAccuracy = run.Result?.TestAccuracy,
        };
    }

    RunView? Find(Guid id)
    {
        using var db = dbs.CreateDbContext();
        var row = db.Runs.AsNoTracking().FirstOrDefault(r => r.Id == id);
        return row is null ? null : RunService.ToView(row, [], includeCard: false);
    }
}
