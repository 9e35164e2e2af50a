using System.Text.Json;
using ModelZoo.Core.Catalog;
using ModelZoo.Torch.Models;

namespace ModelZoo.Torch.Tests.Models;

/// <summary>
/// Every <c>zoo/*/model.json</c> against the one schema, and its computed facts against the code: the parameter
/// count of the registry's module and the GFLOPs of <see cref="FlopCounter"/> at the manifest's input size.
/// </summary>
public class CatalogManifestTests
{
    /// <summary>
    /// Published GFLOPs carry 3 decimals (torchvision's <c>_ops</c>), so a manifest may differ from the exact count by
    /// at most half of the last digit.
    /// </summary>
    const double GflopsTolerance = 0.0005;

    static string ZooDir => Path.Combine(SharedFixtures.RepoRoot, "zoo");

    static IEnumerable<string> EntryIds() =>
        Directory.GetDirectories(ZooDir).Where(dir => File.Exists(Path.Combine(dir, "model.json")))
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    public static TheoryData<string> Entries() => new(EntryIds());

    static ModelManifest Load(string id) =>
        JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(ZooDir, id, "model.json")), ModelManifest.Json)
        ?? throw new InvalidOperationException($"{id}: model.json is empty");

    [Theory]
    [MemberData(nameof(Entries))]
    public void Manifest_SatisfiesTheSchema_AndHasACard(string id)
    {
        var m = Load(id);
        ManifestValidator.Validate(m, id).ShouldBeEmpty();
        var card = Path.Combine(ZooDir, id, "README.md");
        File.Exists(card).ShouldBeTrue($"{id} has no README.md card");
        File.ReadAllText(card).ShouldNotBeNullOrWhiteSpace();
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Manifest_ParamsAndGflops_EqualWhatTheCodeComputes(string id)
    {
        var m = Load(id);
        ArchitectureRegistry.Default.Contains(m.Architecture).ShouldBeTrue($"{id}: architecture '{m.Architecture}' is not registered");
        var info = ArchitectureRegistry.Default.Get(m.Architecture);
        m.Family.ShouldBe(info.Family);

        using var model = ArchitectureRegistry.Default.Create(m.Architecture, ArchitectureOptions.Of(m));
        m.Head.Classifier.ShouldBe(model.ClassifierPrefix);
        m.Params.ShouldBe(model.ParameterCount());
        if (m.Gflops is { } published)
        {
            var computed = FlopCounter.Count(model, m.Preprocessing.InputSize).Gflops;
            Math.Abs(computed - published).ShouldBeLessThanOrEqualTo(GflopsTolerance,
                $"{id}: manifest gflops {published}, FlopCounter {computed:F6} at {m.Preprocessing.InputSize}px");
        }
    }

    [Fact]
    public void EveryImageArchitecture_HasACatalogueEntry()
    {
        var architectures = EntryIds().Select(id => Load(id).Architecture).ToHashSet();
        foreach (var a in ArchitectureRegistry.Default.All.Where(a => a.Modality == Modality.Image))
            architectures.ShouldContain(a.Name);
    }
}
