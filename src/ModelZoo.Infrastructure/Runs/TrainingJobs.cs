using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Text;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>A request made ready for the trainer, with what the card needs to say about it.</summary>
/// <param name="Overlap">The evaluated texts found word for word in the starting weights' pretraining corpus; null when
/// the run starts from no pretrained weights, the model records no corpus, or the data is not text.</param>
public sealed record PreparedRun(TrainingJob Job, StrategyDescription Strategy, StrategyOptions Options, CatalogEntry Entry,
    StartingWeights? Weights, DatasetInfo? Target, PretrainingOverlap? Overlap = null);

/// <summary>
/// Turns a run request into a <see cref="TrainingJob"/>: the strategy and its options, the catalogue entry and its
/// text files, the data (and for domain adaptation the aligned target), and the starting weights (none for the scratch
/// baseline), hashed now so the card names exactly what the trainer loads. The worker and the study command share it.
/// </summary>
public sealed class TrainingJobs(ZooCatalog catalog, DatasetStore datasets, IStrategyCatalog strategies, ZooPaths paths, PretrainingCorpora corpora,
    SourceRuns sourceRuns)
{
    /// <exception cref="InvalidOperationException">The strategy or its options are not (or no longer) valid, the model
    /// left the catalogue, or a text model's files are missing; the message says which.</exception>
    public PreparedRun Prepare(Guid runId, RunRequest request, string outputDir)
    {
        var strategy = strategies.Find(request.Strategy)
            ?? throw new InvalidOperationException($"Strategy '{request.Strategy}' is not offered by this installation.");
        var (options, problems) = StrategyOptionsReader.Read(strategy, request.Options);
        if (options is null) throw new InvalidOperationException(string.Join(" ", problems.Select(p => p.Message)));
        var entry = catalog.Find(request.ModelId) ?? throw new InvalidOperationException($"Model '{request.ModelId}' is no longer in the catalogue.");
        // Before the data: a missing vocabulary should be the reason given, not whatever loading texts hits first.
        var text = catalog.TextFilesOf(entry.Manifest);
        if (entry.Manifest.Text is not null && text.Files is null) throw new InvalidOperationException(text.MissingMessage(entry.Id));
        var data = datasets.Load(request.DatasetId);
        LoadedDataset? target = null;
        if (request.TargetDatasetId is { } targetId) (data, target) = DomainAlignment.Align(data, datasets.Load(targetId));
        // Further tasks keep their own classes (each has its own head); only a domain target is aligned.
        var tasks = (request.TaskDatasetIds ?? []).Select(datasets.Load).ToList();
        var source = request.SourceRunId is { } sourceId ? sourceRuns.Load(sourceId) : null;
        var weights = strategy.Info.UsesPretrainedWeights ? catalog.StartingWeightsOf(entry.Manifest) : null;
        var job = new TrainingJob(runId, request, entry.Manifest, data, weights?.Path, outputDir)
        {
            Text = text.Files,
            Target = target,
            Tasks = tasks,
            SourceRun = source,
            FeatureCacheDir = paths.FeaturesDir,
            WeightsSha256 = weights?.Sha256,
            MeanImagePath = catalog.MeanImagePathOf(entry.Manifest),
        };
        // Only weights that were pretrained can have memorised text; the evaluated data is the target's when there is one.
        var overlap = weights is null ? null : corpora.Measure(entry.Manifest, target ?? data);
        return new PreparedRun(job, strategy, options, entry, weights, target?.Info, overlap);
    }
}
