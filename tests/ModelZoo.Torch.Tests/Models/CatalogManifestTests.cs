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

    static string ZooDir => Path.Combine(TestFixtures.RepoRoot, "zoo");

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

    /// <summary>A weights file committed in the entry's folder is what "bundled" means: the flag and the file go
    /// together, or the catalogue would ask users to import what the zoo already ships (or offer what it lacks).</summary>
    [Theory]
    [MemberData(nameof(Entries))]
    public void Manifest_MarksItsWeightsBundled_ExactlyWhenTheFileIsInItsFolder(string id)
    {
        var m = Load(id);
        var inFolder = m.Weights?.File is { } f && Path.GetFileName(f) == f && File.Exists(Path.Combine(ZooDir, id, f));
        (m.Weights?.Bundled ?? false).ShouldBe(inFolder, $"{id}: weights.bundled and the committed file disagree");
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Manifest_ParamsAndGflops_EqualWhatTheCodeComputes(string id)
    {
        var m = Load(id);
        ArchitectureRegistry.Default.Contains(m.Architecture).ShouldBeTrue($"{id}: architecture '{m.Architecture}' is not registered");
        var info = ArchitectureRegistry.Default.Get(m.Architecture);
        m.Family.ShouldBe(info.Family);

        // The committed config.json decides a config-driven entry's size, as ZooCatalog.OptionsOf reads it.
        var cf = m.Config ?? m.Text?.ConfigFile;
        var config = cf is not null && File.Exists(Path.Combine(ZooDir, id, cf)) ? File.ReadAllText(Path.Combine(ZooDir, id, cf)) : null;
        using var model = ArchitectureRegistry.Default.Create(m.Architecture, ArchitectureOptions.Of(m) with { ConfigJson = config });
        // A bare encoder (minilm_l6, arctic_embed_xs) has no head of its own: the head an entry names is then the one its
        // runs train, on the architecture it is fine-tuned as.
        if (model.ClassifierPrefix.Length > 0) m.Head.Classifier.ShouldBe(model.ClassifierPrefix);
        else
        {
            using var trained = ArchitectureRegistry.Default.Create(ArchitectureRegistry.Default.ForFineTuning(m.Architecture).Name,
                ArchitectureOptions.Of(m) with { ConfigJson = config });
            m.Head.Classifier.ShouldBe(trained.ClassifierPrefix);
        }
        m.Params.ShouldBe(model.ParameterCount());
        // Every entry states its GFLOPs (per image, or per sequence of input_size tokens), so the compare chart has them.
        var published = m.Gflops.ShouldNotBeNull($"{id}: gflops is missing; FlopCounter computes it for every architecture");
        var computed = FlopCounter.Count(model, m.Preprocessing.InputSize).Gflops;
        Math.Abs(computed - published).ShouldBeLessThanOrEqualTo(GflopsTolerance,
            $"{id}: manifest gflops {published}, FlopCounter {computed:F6} at input size {m.Preprocessing.InputSize}");
    }

    /// <summary>A text model needs its tokenizer files named; an image model has none. Committed files must agree
    /// with each other: the vocabulary loads and fits the config's embedding table, and max_length its positions.</summary>
    [Theory]
    [MemberData(nameof(Entries))]
    public void Manifest_NamesItsTokenizer_ExactlyWhenItsArchitectureReadsText(string id)
    {
        var m = Load(id);
        var modality = ArchitectureRegistry.Default.Get(m.Architecture).Modality;
        if (modality == Modality.Image) { m.Text.ShouldBeNull($"{id} is an image model"); return; }
        var text = m.Text.ShouldNotBeNull($"{id} reads text but names no vocabulary");
        var configPath = text.ConfigFile is null ? null : Path.Combine(ZooDir, id, text.ConfigFile);
        var config = configPath is not null && File.Exists(configPath) ? BertConfig.FromJson(File.ReadAllText(configPath)) : BertConfig.BertBaseUncased;
        text.MaxLength.ShouldBeLessThanOrEqualTo(config.MaxPositionEmbeddings);
        var vocabPath = Path.Combine(ZooDir, id, text.VocabFile);
        if (File.Exists(vocabPath))
            ModelZoo.Core.Text.WordPieceTokenizer.FromVocabFile(vocabPath, text.Lowercase, text.StripAccents).VocabSize
                .ShouldBeLessThanOrEqualTo(config.VocabSize);
    }

    /// <summary>A mean image the manifest names is committed beside it with the stated sha256, tensor and shape.</summary>
    [Theory]
    [MemberData(nameof(Entries))]
    public void Manifest_MeanImage_IsInItsFolder_WithItsHashAndShape(string id)
    {
        var pre = Load(id).Preprocessing;
        if (pre.MeanImage is not { } mi) return;
        var values = ModelZoo.Torch.Pipeline.MeanImageFile.Load(Path.Combine(ZooDir, id, mi.File), mi, pre.InputSize, pre.InputSize,
            ModelZoo.Torch.Pipeline.ImageTransformSpec.ParseInterpolation(pre.Interpolation));
        values.Length.ShouldBe(3 * pre.InputSize * pre.InputSize);
    }

    [Fact]
    public void EveryImageArchitecture_HasACatalogueEntry()
    {
        var architectures = EntryIds().Select(id => Load(id).Architecture).ToHashSet();
        foreach (var a in ArchitectureRegistry.Default.All.Where(a => a.Modality == Modality.Image))
            architectures.ShouldContain(a.Name);
    }
}
