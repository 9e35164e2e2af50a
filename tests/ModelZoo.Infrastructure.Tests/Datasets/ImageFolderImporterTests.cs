using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Tests.Datasets;

public class ImageFolderImporterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-upload-").FullName;
    readonly ZooPaths _paths;
    readonly DatasetStore _store;

    public ImageFolderImporterTests()
    {
        _paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir);
        _store = new DatasetStore(_paths);
    }

    ImageFolderImporter Importer(Action<ImageUploadOptions>? configure = null)
    {
        var o = new ImageUploadOptions { StoredSize = 16 };
        configure?.Invoke(o);
        return new ImageFolderImporter(_store, Options.Create(o), BuiltInDatasets.All, NullLogger<ImageFolderImporter>.Instance);
    }

    Task<DatasetInfo> Import(byte[] zip, string name = "My pets", Action<ImageUploadOptions>? configure = null, long? declared = null,
        bool mirrorInvariant = false) =>
        Importer(configure).ImportAsync(new MemoryStream(zip), "pets.zip", new UploadDetails(name, MirrorInvariant: mirrorInvariant), null, CancellationToken.None, declared);

    /// <summary>Nothing of a refused upload may remain: no dataset, no temp file or folder.</summary>
    void DataFolderIsClean() => Directory.EnumerateFileSystemEntries(_paths.DatasetsDir).ShouldBeEmpty();

    [Fact]
    public async Task Import_StoresAnImageFolderZip_WithSortedClassesSizesAndAStratifiedSplit()
    {
        var zip = UploadCorpus.Zip().Class("dog", 12, w: 40, h: 30).Class("cat", 10, w: 20, h: 20).Class("bird", 8, ext: "jpg", w: 33, h: 50).Bytes();
        var info = await Import(zip);

        info.Id.ShouldBe("my-pets");
        info.Title.ShouldBe("My pets");
        info.Origin.ShouldBe(DatasetOrigin.Upload);
        info.Augmentation.ShouldBe(AugmentationProfile.Unknown, "no flips unless the uploader says a mirrored image keeps its class; mild crops");
        _store.Find("my-pets")!.Augmentation.ShouldBe(AugmentationProfile.Unknown, "the profile is in the stored facts");
        info.ClassNames.ShouldBe(["bird", "cat", "dog"], "classes sort by folder name, as torchvision's ImageFolder does");
        info.ClassCounts.ShouldBe([8, 10, 12]);
        (info.Width, info.Height, info.Channels).ShouldBe((16, 16, 3));
        info.Source!.Sha256.Length.ShouldBe(64);
        info.Provenance.ShouldContain("pets.zip");
        info.SourceImages!.Formats["PNG"].ShouldBe(22);
        info.SourceImages.Formats["JPEG"].ShouldBe(8);
        (info.SourceImages.MinWidth, info.SourceImages.MaxWidth, info.SourceImages.MaxHeight).ShouldBe((20, 40, 50));
        info.SourceImages.CommonSizes[0].ShouldBe(new ImageSizeCount(40, 30, 12));
        // Every distinct size with its count, for the page's scatter: together they account for every image.
        var sizes = info.SourceImages.Sizes.ShouldNotBeNull();
        sizes[0].ShouldBe(info.SourceImages.CommonSizes[0]);
        sizes.Sum(x => x.Count).ShouldBe(info.Examples);
        sizes.Select(x => (x.Width, x.Height)).ShouldBeUnique();

        var loaded = _store.Load("my-pets");
        loaded.Images.Pixels.Length.ShouldBe(30 * 3 * 16 * 16);
        loaded.Split.Train.Length.ShouldBe(info.Splits.Train);
        loaded.Split.Test.Count(i => loaded.Images.Labels[i] == 2).ShouldBe((int)Math.Round(12 * 0.15), "each class keeps its share of the test split");
        Directory.EnumerateFileSystemEntries(_paths.DatasetsDir).Select(Path.GetFileName).ShouldBe(["my-pets"], "the temp upload is gone");
    }

    [Fact]
    public async Task Import_OfMirrorInvariantClasses_RecordsTheSafeProfileWithFlips()
    {
        var zip = UploadCorpus.Zip().Class("left-shoe", 3).Class("boot", 3).Bytes();
        var info = await Import(zip, "Shoes", mirrorInvariant: true);

        var expected = AugmentationProfile.Unknown with { HorizontalFlip = true };
        info.Augmentation.ShouldBe(expected);
        _store.Find("shoes")!.Augmentation.ShouldBe(expected, "the profile is in the stored facts");
        AugmentationProfile.For(_store.Find("shoes")!).ShouldBe(expected, "and it is what runs train with");
    }

    [Fact]
    public async Task Import_StoresGreyImagesWithOneChannel_AndLooksThroughOneTopFolder()
    {
        var zip = UploadCorpus.Zip().Folder("scans").Class("scans/a", 3, grey: true).Class("scans/b", 3, grey: true, ext: "jpg").Bytes();
        var info = await Import(zip, "Scans");
        info.ClassNames.ShouldBe(["a", "b"]);
        info.Channels.ShouldBe(1);
        info.SourceImages!.GreyImages.ShouldBe(6);
    }

    [Fact]
    public async Task Import_ReadsPathsThatStartWithADotSegment_AsTheSameFolders()
    {
        var zip = UploadCorpus.Zip().Class("./a", 3).Class("./b", 3).Bytes();
        var info = await Import(zip, "Dotted");
        info.ClassNames.ShouldBe(["a", "b"]);
        info.Examples.ShouldBe(6);
        info.Provenance.ShouldNotContain("skipped");
    }

    [Fact]
    public async Task Import_KeepsTheSameSplit_ForTheSameArchive()
    {
        var zip = UploadCorpus.Zip().Class("x", 20).Class("y", 14).Bytes();
        await Import(zip, "first");
        await Import(zip, "second");
        var (a, b) = (_store.Load("first").Split, _store.Load("second").Split);
        a.Train.ShouldBe(b.Train);
        a.Validation.ShouldBe(b.Validation);
        a.Test.ShouldBe(b.Test);
        _store.Load("first").Images.Pixels.ShouldBe(_store.Load("second").Images.Pixels);
    }

    /// <summary>40x20, left half black and right half white.</summary>
    static SKBitmap HalfBlack()
    {
        var bmp = new SKBitmap(40, 20);
        using var c = new SKCanvas(bmp);
        c.Clear(SKColors.White);
        using var black = new SKPaint { Color = SKColors.Black };
        c.DrawRect(0, 0, 20, 20, black);
        return bmp;
    }

    [Fact]
    public void Decode_CentreCropsToASquare()
    {
        using var bmp = HalfBlack();
        var (img, problem) = UploadedImageDecoder.Decode(bmp.Encode(SKEncodedImageFormat.Png, 100).ToArray(), 16, UploadFit.CenterCrop, 1_000_000);
        problem.ShouldBeNull();
        img!.IsGrey.ShouldBeTrue();
        img.Rgb[8 * 16 + 2].ShouldBeLessThan((byte)30, "left of the crop is black");
        img.Rgb[8 * 16 + 13].ShouldBeGreaterThan((byte)225, "right of the crop is white");
        (img.Width, img.Height, img.Format).ShouldBe((40, 20, "PNG"));
    }

    [Fact]
    public void Decode_AppliesExifOrientation_LikeAPhoneViewer()
    {
        using var bmp = HalfBlack();
        // Orientation 6: shown rotated 90 degrees clockwise, so the black left half becomes the top half.
        var jpeg = UploadCorpus.WithExifOrientation(bmp.Encode(SKEncodedImageFormat.Jpeg, 95).ToArray(), 6);
        var (img, problem) = UploadedImageDecoder.Decode(jpeg, 16, UploadFit.CenterCrop, 1_000_000);
        problem.ShouldBeNull();
        (img!.Width, img.Height).ShouldBe((20, 40), "sizes are reported upright");
        img.Rgb[2 * 16 + 8].ShouldBeLessThan((byte)30, "top of the crop is black");
        img.Rgb[13 * 16 + 8].ShouldBeGreaterThan((byte)225, "bottom of the crop is white");
    }

    public static TheoryData<string, Func<byte[]>, Action<ImageUploadOptions>?, string, string> BadUploads => new()
    {
        { "zip-slip path", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("../evil.png", UploadCorpus.Image(99)).Bytes(), null,
            "../evil.png", "points outside the archive" },
        { "absolute path", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("/etc/evil.png", UploadCorpus.Image(99)).Bytes(), null,
            "/etc/evil.png", "points outside the archive" },
        { "symbolic link", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("a/link.png", "../../etc/passwd"u8.ToArray(), unixMode: 0xA1FF).Bytes(), null,
            "a/link.png", "is a symbolic link" },
        { "truncated image", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("b/cut.png", UploadCorpus.Noise(7)[..3000]).Bytes(), null,
            "b/cut.png", "is truncated" },
        { "corrupt image", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("b/bad.png", Corrupt(UploadCorpus.Noise(7))).Bytes(), null,
            "b/bad.png", "is corrupt" },
        { "not an image", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("a/notes.txt", "just some notes"u8.ToArray()).Bytes(), null,
            "a/notes.txt", "is not an image" },
        { "empty file", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("a/zero.png", []).Bytes(), null,
            "a/zero.png", "is empty (0 bytes)" },
        { "empty class", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).Folder("c").Bytes(), null,
            "c/", "class 'c' is empty" },
        { "single-image class", () => UploadCorpus.Zip().Class("a", 3).Class("b", 1).Bytes(), null,
            "b/", "class 'b' has 1 image; each class needs at least 2" },
        { "one class", () => UploadCorpus.Zip().Class("a", 5).Bytes(), null,
            "", "holds one class ('a')" },
        { "no class folders", () => UploadCorpus.Zip().File("loose.png", UploadCorpus.Image(1)).Bytes(), null,
            "loose.png", "is not inside a class folder" },
        // Duplicates are dropped by default, or refused on request: UploadDuplicatesTests.
        { "too many files", () => UploadCorpus.Zip().Class("a", 4).Class("b", 4).Bytes(), o => o.MaxFiles = 5,
            "", "more than 5 files" },
        { "too large upload", () => UploadCorpus.Zip().Class("a", 4).Class("b", 4).Bytes(), o => o.MaxUploadBytes = 1000,
            "pets.zip", "over the upload limit of 1 KB" },
        { "decompression bomb image", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("a/bomb.png", UploadCorpus.PngClaiming(30_000, 30_000)).Bytes(), null,
            "a/bomb.png", "is 30000x30000 = 900 megapixels, over the limit of 40 (Datasets:Upload:MaxPixels); it was not decoded" },
        { "zip bomb entry", () => UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("a/huge.png", new byte[3 << 20]).Bytes(), o => o.MaxFileBytes = 1 << 20,
            "a/huge.png", "uncompressed, over the per-file limit of 1 MB" },
        { "too many classes", () => UploadCorpus.Zip().Class("a", 2).Class("b", 2).Class("c", 2).Bytes(), o => o.MaxClasses = 2,
            "", "3 classes, over the limit of 2" },
        { "not a zip", () => UploadCorpus.Image(5), null,
            "pets.zip", "is not a valid zip archive" },
    };

    /// <summary>Keeps the PNG's structure but scrambles its compressed pixel data, so the zlib stream is invalid.</summary>
    static byte[] Corrupt(byte[] png)
    {
        var b = (byte[])png.Clone();
        int idat = b.AsSpan().IndexOf("IDAT"u8);
        for (int i = idat + 6; i < idat + 6 + 40 && i < b.Length - 12; i++) b[i] ^= 0x5A;
        return b;
    }

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task Import_RejectsABadUpload_WithTheFileAndReason_AndKeepsNothing(string what, Func<byte[]> zip, Action<ImageUploadOptions>? configure, string file, string reason)
    {
        var e = await Should.ThrowAsync<DatasetRejectedException>(() => Import(zip(), configure: configure));
        e.Problems.ShouldContain(p => p.File == file && p.Reason.Contains(reason), $"{what}: got {string.Join(" | ", e.Problems)}");
        _store.All().ShouldBeEmpty();
        DataFolderIsClean();
    }

    [Fact]
    public async Task Import_RejectsATooLargeUpload_FromItsDeclaredLength_BeforeReadingIt()
    {
        var e = await Should.ThrowAsync<DatasetRejectedException>(() =>
            Import(UploadCorpus.Zip().Class("a", 2).Class("b", 2).Bytes(), configure: o => o.MaxUploadBytes = 10 << 20, declared: 11L << 20));
        e.Message.ShouldContain("is 11 MB, over the upload limit of 10 MB");
        DataFolderIsClean();
    }

    [Fact]
    public async Task Import_ListsEveryProblem_NotOnlyTheFirst()
    {
        var zip = UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("a/x.txt", "x"u8.ToArray()).File("b/y.txt", "y"u8.ToArray()).Bytes();
        var e = await Should.ThrowAsync<DatasetRejectedException>(() => Import(zip));
        e.Problems.Select(p => p.File).ShouldBe(["a/x.txt", "b/y.txt"]);
    }

    [Fact]
    public async Task Import_ListsClassProblemsAndBrokenFilesTogether_WithPathsAsInTheArchive()
    {
        var zip = UploadCorpus.Zip().Class("root/a", 3).Class("root/b", 3).Folder("root/empty").File("root/a/x.txt", "x"u8.ToArray()).Bytes();
        var e = await Should.ThrowAsync<DatasetRejectedException>(() => Import(zip));
        e.Problems.Select(p => p.File).ShouldBe(["root/empty/", "root/a/x.txt"]);
        DataFolderIsClean();
    }

    [Fact]
    public async Task Import_RefusesANameThatIsTaken_ByAnUploadOrABuiltIn()
    {
        var zip = UploadCorpus.Zip().Class("a", 2).Class("b", 2).Bytes();
        await Import(zip, "Pets");
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(zip, "pets"))).Message.ShouldContain("'pets' exists already");
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(zip, "Fashion MNIST"))).Message.ShouldContain("'fashion-mnist' exists already");
        (await Should.ThrowAsync<DatasetRejectedException>(() => Import(zip, " ?! "))).Message.ShouldContain("name with letters or digits");
        _store.All().Select(d => d.Id).ShouldBe(["pets"]);
    }

    [Fact]
    public async Task Import_SkipsMacOsClutter()
    {
        var zip = UploadCorpus.Zip().Class("a", 2).Class("b", 2).File("__MACOSX/a/._a-0.png", [0, 5, 22, 7]).File("a/.DS_Store", [1, 2, 3]).Bytes();
        var info = await Import(zip);
        info.Examples.ShouldBe(4);
        info.Provenance.ShouldContain("2 hidden or system files skipped");
    }

    [Fact]
    public void Options_WithImpossibleValues_AreNamed()
    {
        var errors = new ImageUploadOptions { MaxClasses = 300, StoredSize = 2, TestFraction = 0.6, ValidationFraction = 0.5 }.Validate().ToList();
        errors.ShouldContain(e => e.Contains("MaxClasses"));
        errors.ShouldContain(e => e.Contains("StoredSize"));
        errors.ShouldContain(e => e.Contains("TestFraction"));

        // 20,000 files at 512² would need a 15.7 GB pixel array: refused at start-up, not at the end of a decode.
        new ImageUploadOptions { StoredSize = 512 }.Validate().ShouldHaveSingleItem().ShouldContain("lower MaxFiles or StoredSize");
        new ImageUploadOptions { StoredSize = 512, MaxFiles = 2_000 }.Validate().ShouldBeEmpty();
        new ImageUploadOptions().Validate().ShouldBeEmpty("the defaults fit");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
