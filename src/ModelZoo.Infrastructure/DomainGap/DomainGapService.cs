using System.Diagnostics;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.DomainGap;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Infrastructure.DomainGap;

/// <summary>
/// The domain-gap report's measurement: checks the request (errors keyed by field, as a run's are), prepares a
/// feature-extraction job on each dataset through <see cref="TrainingJobs"/> (so the backbone, its starting weights and
/// the preprocessing are exactly a run's) and lets the <see cref="IDomainGapProbe"/> embed and compare them. One
/// measurement at a time per process: it runs the backbone on the CPU or GPU that training also uses.
/// </summary>
public sealed class DomainGapService(ZooCatalog catalog, DatasetStore datasets, TrainingJobs jobs, IDomainGapProbe probe, IRunTrainer trainer)
{
    readonly SemaphoreSlim _one = new(1, 1);

    public IReadOnlyDictionary<string, string> Check(DomainGapRequest r)
    {
        var errors = new Dictionary<string, string>();
        var facts = string.IsNullOrWhiteSpace(r.ModelId) ? null : catalog.FactsOf(r.ModelId);
        if (string.IsNullOrWhiteSpace(r.ModelId)) errors["ModelId"] = "Choose a model.";
        else if (facts is null) errors["ModelId"] = $"Model '{r.ModelId}' is not in the catalogue.";
        DatasetInfo? Dataset(string key, string id)
        {
            if (string.IsNullOrWhiteSpace(id)) { errors[key] = "Choose a dataset."; return null; }
            var d = datasets.Find(id);
            if (d is null) errors[key] = $"Dataset '{id}' does not exist or is not ready.";
            else if (facts is not null && d.Modality != facts.Modality)
                errors[key] = $"Model '{r.ModelId}' reads {facts.Modality.ToString().ToLowerInvariant()}s, but dataset '{id}' holds {d.Modality.ToString().ToLowerInvariant()}s.";
            return d;
        }
        var source = Dataset("SourceDatasetId", r.SourceDatasetId);
        var target = Dataset("TargetDatasetId", r.TargetDatasetId);
        if (source is not null && target is not null && source.Id == target.Id)
            errors["TargetDatasetId"] = "The target must be another dataset than the source: a dataset has no gap with itself.";
        if (r.Examples is < DomainGapRequest.MinExamples or > DomainGapRequest.MaxExamples)
            errors["Examples"] = $"Examples per domain must be between {DomainGapRequest.MinExamples} and {DomainGapRequest.MaxExamples}.";
        if (r.ImageSize != 0 && r.ImageSize is < 16 or > 512) errors["ImageSize"] = "Input size must be between 16 and 512 pixels (0: the model's own).";
        if (r.Seed < 0) errors["Seed"] = "Seed must be zero or positive.";
        return errors;
    }

    /// <exception cref="ArgumentException">The request is invalid; <see cref="Check"/> says why, by field.</exception>
    /// <exception cref="InvalidOperationException">The model's files or the data cannot be loaded; the message says which.</exception>
    public async Task<DomainGapReport> MeasureAsync(DomainGapRequest r, CancellationToken ct)
    {
        var errors = Check(r);
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors.Values));
        await _one.WaitAsync(ct);
        var dir = Directory.CreateTempSubdirectory("mz-domain-gap-").FullName;
        try
        {
            var watch = Stopwatch.StartNew();
            RunRequest Request(string dataset) => new()
            {
                ModelId = r.ModelId, DatasetId = dataset, Strategy = "feature-extraction",
                HyperParameters = new HyperParameters { Seed = r.Seed, ImageSize = r.ImageSize, Augment = false },
            };
            var source = jobs.Prepare(Guid.NewGuid(), Request(r.SourceDatasetId), dir);
            var target = jobs.Prepare(Guid.NewGuid(), Request(r.TargetDatasetId), dir);
            var measures = await Task.Run(() => probe.Measure(source.Job, target.Job, r.Examples, r.Seed, ct), ct);
            var notes = new List<string>
            {
                source.Weights is { } w ? $"Features of {r.ModelId} with its starting weights (sha256 {w.Sha256[..12]}…), pooled before the classifier."
                    : $"{r.ModelId} has no pretrained weights on this machine: the features are a random network's, so the gap says little about transfer.",
                $"A seeded sample of each training split: {measures.SourceExamples} source and {measures.TargetExamples} target examples; the domain classifier trains on half of each and is tested on the other half.",
            };
            return new DomainGapReport(r, measures, trainer.Device, watch.Elapsed.TotalSeconds, notes);
        }
        finally
        {
            _one.Release();
            Directory.Delete(dir, recursive: true);
        }
    }
}
