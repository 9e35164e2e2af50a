using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Catalog;

/// <summary>
/// The pretraining corpora the catalogue knows (a manifest's <c>pretraining_corpus</c>), read once per entry, and
/// their overlap with a dataset's texts. A run records the overlap in its result, so the card states it from the
/// record; the new-run page asks before launch. Overlap is counted per split (train, validation, test) of the
/// dataset's stored split, since it is the test split's overlap that can make a score look better than it is.
/// </summary>
public sealed class PretrainingCorpora(ZooPaths paths, ILogger<PretrainingCorpora> log)
{
    readonly ConcurrentDictionary<string, Lazy<CorpusFingerprints?>> _corpora = new();
    readonly ConcurrentDictionary<(string Model, string Dataset), PretrainingOverlap?> _measured = new();

    /// <summary>The entry's corpus fingerprints; null when it records none, or when its file cannot be read (logged
    /// with the file's path: the overlap is then unknown, which the caller shows as nothing rather than as zero).</summary>
    public CorpusFingerprints? FingerprintsOf(ModelManifest m)
    {
        if (m.PretrainingCorpus is not { } corpus) return null;
        var path = Path.Combine(paths.ZooDir, m.Id, corpus.Fingerprints);
        return _corpora.GetOrAdd(path, p => new Lazy<CorpusFingerprints?>(() =>
        {
            try { return CorpusFingerprints.Read(File.ReadAllBytes(p)); }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                log.LogWarning("Pretraining corpus fingerprints of {Model} at {Path} could not be read: {Message}", m.Id, p, e.Message);
                return null;
            }
        })).Value;
    }

    /// <summary>How many of the dataset's texts, per split, the model's pretraining corpus holds word for word; null
    /// when the model records no corpus or the dataset holds no texts.</summary>
    public PretrainingOverlap? Measure(ModelManifest m, LoadedDataset data) => Measure(m, data.Info.Id, () => data);

    /// <summary>As above, loading the dataset only when this pair has not been measured yet: the new-run page and the
    /// API ask again on every change of model or dataset, and a large text dataset takes a while to read.</summary>
    public PretrainingOverlap? Measure(ModelManifest m, string datasetId, Func<LoadedDataset> load) =>
        m.PretrainingCorpus is not { } corpus ? null
        : _measured.GetOrAdd((m.Id, datasetId), _ => load() is { Texts: { } texts } data
            ? FingerprintsOf(m)?.Measure(corpus.Description, texts.Texts,
                [("train", data.Split.Train), ("validation", data.Split.Validation), ("test", data.Split.Test)])
            : null);
}
