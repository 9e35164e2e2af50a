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

    CatalogEntry ToEntry(ModelManifest m)
    {
        var card = Path.Combine(paths.ZooDir, m.Id, "README.md");
        var weights = m.Weights is null ? WeightsAvailability.RandomInit
            : WeightsPathOf(m) is not null ? WeightsAvailability.Available : WeightsAvailability.ImportToEnable;
        return new CatalogEntry(m, File.Exists(card) ? File.ReadAllText(card) : "", ComputeParams(m), weights);
    }

    long ComputeParams(ModelManifest m) => registry.CountParameters(m.Architecture, OptionsOf(m, paths.ZooDir));

    /// <summary>The architecture options an entry describes: its class count and, for a config-driven architecture
    /// with a <c>config</c> file (a house BERT's size), that config.json.</summary>
    public static ArchitectureOptions OptionsOf(ModelManifest m, string zooDir) =>
        new(m.Head.NumClasses, m.Config is { } c ? File.ReadAllText(Path.Combine(zooDir, m.Id, c)) : null);

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
                if (problems.Count > 0) { log.LogWarning("Skipping {File}: {Problems}", file, string.Join("; ", problems)); continue; }
                list.Add(m);
            }
            catch (JsonException e) { log.LogWarning("Skipping {File}: {Message}", file, e.Message); }
        }
        return list;
    }
}
