using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>Editing a stored dataset's augmentation profile: checked, written whole or not at all, seen by every reader.</summary>
public class DatasetAugmentationStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-augstore-").FullName;
    readonly DatasetStore _store;
    static readonly AugmentationProfile Edited = new(HorizontalFlip: true, MinCropScale: 0.5, MaxRotationDegrees: 15, ColorJitter: 0.3);

    public DatasetAugmentationStoreTests() => _store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir));

    string DatasetsDir => Path.Combine(_dir, "data", "datasets");
    static string Facts(DatasetInfo info) => System.Text.Json.JsonSerializer.Serialize(info);
    string FactsFile(string id) => Path.Combine(_store.FolderOf(id), "dataset.json");

    DatasetInfo WriteImages(string id, DatasetOrigin origin, AugmentationProfile? profile)
    {
        var labels = Enumerable.Range(0, 12).Select(i => i % 2).ToArray();
        return _store.Write(
            new DatasetInfo { Id = id, Title = $"Title of {id}", ClassNames = ["a", "b"], Width = 2, Height = 2, Channels = 1, Origin = origin,
                License = "CC0-1.0", Provenance = "made by the test", Augmentation = profile, SplitSeed = 9 },
            new ImageSet { Width = 2, Height = 2, Channels = 1, Pixels = Enumerable.Range(0, 48).Select(i => (byte)i).ToArray(), Labels = labels, ClassNames = ["a", "b"] },
            StratifiedSplitter.Split(labels, 9));
    }

    [Fact]
    public void UpdateAugmentation_RecordsTheProfile_SeenByFindAndLoad_AndKeepsEveryOtherFact()
    {
        var before = WriteImages("pets", DatasetOrigin.Upload, AugmentationProfile.Unknown);
        _store.Load("pets").Info.Augmentation.ShouldBe(AugmentationProfile.Unknown, "loaded once, so a stale cached copy would show");

        var after = _store.UpdateAugmentation("pets", Edited);

        // Records holding lists compare the lists by reference: compare the facts as the file states them.
        Facts(after).ShouldBe(Facts(before with { Augmentation = Edited }), "every other fact is kept");
        Facts(_store.Find("pets")!).ShouldBe(Facts(after));
        var loaded = _store.Load("pets");
        loaded.Info.Augmentation.ShouldBe(Edited, "the next load reads the new facts, not the cached ones");
        loaded.Images!.Pixels.ShouldBe(Enumerable.Range(0, 48).Select(i => (byte)i).ToArray(), "the examples are untouched");
        Directory.EnumerateFileSystemEntries(DatasetsDir).Select(Path.GetFileName).ShouldBe(["pets"], "no temp file is left");
    }

    /// <summary>Which augmentations suit the data is a fact of the dataset, so a built-in's profile is editable too.</summary>
    [Fact]
    public void UpdateAugmentation_EditsABuiltIn_AndAFactsFileThatPredatesTheField()
    {
        WriteImages("digits", DatasetOrigin.BuiltIn, profile: null);
        AugmentationProfile.For(_store.Find("digits")!).ShouldBe(AugmentationProfile.Digits);

        _store.UpdateAugmentation("digits", AugmentationProfile.Digits with { MaxRotationDegrees = 20 });

        _store.Find("digits")!.Augmentation.ShouldBe(AugmentationProfile.Digits with { MaxRotationDegrees = 20 });
        _store.Find("digits")!.Origin.ShouldBe(DatasetOrigin.BuiltIn);
    }

    /// <summary>The new facts replace the old file by rename: a reader that opened the old file before the edit still
    /// reads it whole, which an overwrite in place (truncate, then write) would break.</summary>
    [Fact]
    public void UpdateAugmentation_ReplacesTheFactsFileByRename_NeverInPlace()
    {
        WriteImages("pets", DatasetOrigin.Upload, AugmentationProfile.Unknown);
        var old = File.ReadAllBytes(FactsFile("pets"));
        using var reader = new FileStream(FactsFile("pets"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        _store.UpdateAugmentation("pets", Edited);

        using var ms = new MemoryStream();
        reader.CopyTo(ms);
        ms.ToArray().ShouldBe(old, "the open file is the old one, intact");
        File.ReadAllBytes(FactsFile("pets")).ShouldNotBe(old);
    }

    [Fact]
    public void UpdateAugmentation_RefusesAnInvalidProfile_WithEachField_AndChangesNoByte()
    {
        WriteImages("pets", DatasetOrigin.Upload, AugmentationProfile.Unknown);
        var old = File.ReadAllBytes(FactsFile("pets"));

        var e = Should.Throw<AugmentationRejectedException>(() => _store.UpdateAugmentation("pets", new AugmentationProfile(true, 0, 181, double.NaN)));

        e.Errors.Keys.Order().ShouldBe(["ColorJitter", "MaxRotationDegrees", "MinCropScale"]);
        e.Errors["MaxRotationDegrees"].ShouldBe("Rotation must be between 0 and 180 degrees.");
        File.ReadAllBytes(FactsFile("pets")).ShouldBe(old);
        Directory.EnumerateFileSystemEntries(DatasetsDir).Select(Path.GetFileName).ShouldBe(["pets"]);
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("../pets")]
    [InlineData("")]
    public void UpdateAugmentation_RefusesAnUnknownOrUnsafeId(string id)
    {
        WriteImages("pets", DatasetOrigin.Upload, AugmentationProfile.Unknown);
        Should.Throw<KeyNotFoundException>(() => _store.UpdateAugmentation(id, Edited));
        _store.Find("pets")!.Augmentation.ShouldBe(AugmentationProfile.Unknown);
        Directory.EnumerateFileSystemEntries(DatasetsDir).Select(Path.GetFileName).ShouldBe(["pets"]);
    }

    [Fact]
    public void UpdateAugmentation_RefusesATextDataset_WhichHasNoImageAugmentations()
    {
        _store.Write(new DatasetInfo { Id = "mail", Title = "Mail", ClassNames = ["ham", "spam"] },
            new TextSet { Texts = ["hello", "buy now", "lunch?", "free!!"], Labels = [0, 1, 0, 1], ClassNames = ["ham", "spam"] },
            new SplitIndices(1, [0, 1], [2], [3]));
        var old = File.ReadAllBytes(FactsFile("mail"));

        Should.Throw<InvalidOperationException>(() => _store.UpdateAugmentation("mail", Edited)).Message.ShouldContain("holds texts");

        File.ReadAllBytes(FactsFile("mail")).ShouldBe(old);
    }

    /// <summary>Edits from several pages at once: the last rename wins whole, and the file is never a mix.</summary>
    [Fact]
    public void ConcurrentUpdates_LeaveOneOfTheProfiles_WholeAndReadable()
    {
        WriteImages("pets", DatasetOrigin.Upload, AugmentationProfile.Unknown);
        var profiles = Enumerable.Range(1, 24).Select(i => new AugmentationProfile(i % 2 == 0, i / 25.0, i, i / 25.0)).ToList();

        Parallel.ForEach(profiles, new ParallelOptions { MaxDegreeOfParallelism = 4 }, p =>
        {
            _store.UpdateAugmentation("pets", p);
            _store.Find("pets").ShouldNotBeNull("a reader never sees a missing or partial file");
        });

        profiles.ShouldContain(_store.Find("pets")!.Augmentation!);
        Directory.EnumerateFileSystemEntries(DatasetsDir).Select(Path.GetFileName).ShouldBe(["pets"]);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
