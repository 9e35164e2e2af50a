using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Catalog;
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
    /// </summary>
    /// <exception cref="InvalidDataException">The bundled file's sha256 differs from the manifest's.</exception>
    public StartingWeights? StartingWeightsOf(ModelManifest m)
    {
        if (BundledWeightsPathOf(m) is { } bundled)
        {
            var sha = ModelZoo.Torch.Weights.Sha256.OfFile(bundled);
            if (!string.Equals(sha, m.Weights!.Sha256, StringComparison.Ordinal))
                throw new InvalidDataException($"{bundled}: sha256 {sha} differs from the manifest's {m.Weights.Sha256}; the bundled weights were changed or damaged.");
            return new StartingWeights(bundled, sha, WeightsAvailability.Bundled);
        }
        return weightsStore.Find(m) is { } imported ? new StartingWeights(imported.Path, imported.Sha256, WeightsAvailability.Available) : null;
    }

    CatalogEntry ToEntry(ModelManifest m)
    {
        var card = Path.Combine(paths.ZooDir, m.Id, "README.md");
        var weights = m.Weights is null ? WeightsAvailability.RandomInit
            : BundledWeightsPathOf(m) is not null ? WeightsAvailability.Bundled
            : WeightsPathOf(m) is not null ? WeightsAvailability.Available : WeightsAvailability.ImportToEnable;
        return new CatalogEntry(m, File.Exists(card) ? File.ReadAllText(card) : "", ComputeParams(m), weights);
    }

    long ComputeParams(ModelManifest m) => registry.CountParameters(m.Architecture, ArchitectureOptions.Of(m));

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
                if (problems.Count > 0) { log.LogWarning("Skipping {File}: {Problems}", file, string.Join("; ", problems)); continue; }
                list.Add(m);
            }
            catch (JsonException e) { log.LogWarning("Skipping {File}: {Message}", file, e.Message); }
        }
        return list;
    }
}

/// <summary>The file a run's model is initialised from, its sha256 (for the card), and whether it was bundled or imported.</summary>
public sealed record StartingWeights(string Path, string Sha256, WeightsAvailability Kind);
