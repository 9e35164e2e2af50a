using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>
/// Real data has copies: duplicates=drop keeps the first copy and drops conflicting-label groups whole, listing
/// each in the facts; duplicates=refuse refuses, listing every copy and keeping nothing; near-duplicates across the
/// split are reported. Images are real PNGs built by <see cref="UploadCorpus"/>, decoded by the real importer.
/// </summary>
public class UploadDuplicatesTests : IDisposable
{
    readonly Xunit.Abstractions.ITestOutputHelper _output;
    readonly string _dir = Directory.CreateTempSubdirectory("mz-dups-").FullName;
    readonly ZooPaths _paths;
    readonly DatasetStore _store;

    public UploadDuplicatesTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        _paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir);
        _store = new DatasetStore(_paths);
    }

    Task<DatasetInfo> ImportImages(byte[] zip, DuplicatePolicy? policy = null, int storedSize = 16) =>
        new ImageFolderImporter(_store, Options.Create(new ImageUploadOptions { StoredSize = storedSize }), BuiltInDatasets.All, NullLogger<ImageFolderImporter>.Instance)
            .ImportAsync(new MemoryStream(zip), "icons.zip", policy is { } p ? new UploadDetails("Icons", Duplicates: p) : new UploadDetails("Icons"), null, CancellationToken.None);

    Task<DatasetInfo> ImportText(string csv, DuplicatePolicy? policy = null)
    {
        var bytes = Encoding.UTF8.GetBytes(csv);
        var details = policy is { } p ? new UploadDetails("Quotes", Duplicates: p) : new UploadDetails("Quotes");
        return new TextTableImporter(_store, Options.Create(new TextUploadOptions()), BuiltInDatasets.All, NullLogger<TextTableImporter>.Instance)
            .ImportAsync(new MemoryStream(bytes), "quotes.csv", bytes.Length, "quote", "category", details, CancellationToken.None);
    }

    void DataFolderIsClean() =>
        (Directory.Exists(_paths.DatasetsDir) ? Directory.EnumerateFileSystemEntries(_paths.DatasetsDir) : []).ShouldBeEmpty();

    /// <summary>How many stored images have exactly the pixels the importer makes of <paramref name="file"/>.</summary>
    int StoredCopiesOf(string id, byte[] file)
    {
        var loaded = _store.Load(id).Images!;
        var (img, problem) = UploadedImageDecoder.Decode(file, loaded.Width, UploadFit.CenterCrop, long.MaxValue);
        problem.ShouldBeNull();
        var expected = new byte[loaded.ImageBytes];
        img!.CopyPlanes(loaded.Channels, expected);
        return Enumerable.Range(0, loaded.Count).Count(i => loaded.Pixels.AsSpan(i * loaded.ImageBytes, loaded.ImageBytes).SequenceEqual(expected));
    }

    [Fact]
    public async Task Drop_IsTheDefault_KeepsTheFirstCopy_AndListsEveryOtherWithTheCopyKept()
    {
        var icon = UploadCorpus.Image(42);
        var zip = UploadCorpus.Zip().Class("a", 4).Class("b", 4)
            .File("a/icon-1.png", icon).File("a/icon-2.png", icon).File("a/icon-3.png", icon)
            .File("b/same-1.png", UploadCorpus.Image(43)).File("b/same-2.png", UploadCorpus.Image(43)).Bytes();

        var info = await ImportImages(zip);

        info.Examples.ShouldBe(10, "8 distinct images, and one of each group of copies");
        info.ClassCounts.ShouldBe([5, 5]);
        var c = info.Cleaning.ShouldNotBeNull();
        c.Policy.ShouldBe(DuplicatePolicy.Drop);
        (c.ExactDuplicatesDropped, c.ConflictGroupsDropped, c.ConflictExamplesDropped).ShouldBe((3, 0, 0));
        c.Dropped.Select(d => (d.Item, d.KeptCopy)).ShouldBe([("a/icon-2.png", "a/icon-1.png"), ("a/icon-3.png", "a/icon-1.png"), ("b/same-2.png", "b/same-1.png")]);
        c.Dropped.ShouldAllBe(d => d.Reason == "byte-identical copy (duplicate file)");
        info.Provenance.ShouldContain("3 exact duplicate files and 0 conflicting-label groups (0 files) dropped at upload");
        StoredCopiesOf("icons", icon).ShouldBe(1, "the kept copy is stored once");
        _store.Find("icons")!.Cleaning.ShouldBeEquivalentTo(info.Cleaning, "the record is in the stored facts");
    }

    [Fact]
    public async Task Drop_DropsEveryCopyOfAnImageFiledUnderTwoClasses()
    {
        var contested = UploadCorpus.Image(50);
        var zip = UploadCorpus.Zip().Class("a", 3).Class("b", 3)
            .File("a/x.png", contested).File("b/x.png", contested).File("b/y.png", contested).Bytes();

        var info = await ImportImages(zip, DuplicatePolicy.Drop);

        info.Examples.ShouldBe(6);
        var c = info.Cleaning!;
        (c.ExactDuplicatesDropped, c.ConflictGroupsDropped, c.ConflictExamplesDropped, c.TotalDropped).ShouldBe((0, 1, 3, 3));
        c.Dropped.Select(d => d.Item).ShouldBe(["a/x.png", "b/x.png", "b/y.png"]);
        c.Dropped.ShouldAllBe(d => d.KeptCopy == null && d.Reason.Contains("the same image is in classes 'a', 'b' (a/x.png, b/x.png, b/y.png); all 3 copies dropped (conflicting labels)"));
        StoredCopiesOf("icons", contested).ShouldBe(0, "no copy of a contested image is stored");
        info.Provenance.ShouldContain("0 exact duplicate files and 1 conflicting-label group (3 files) dropped at upload");
    }

    [Fact]
    public async Task Refuse_ListsEveryCopy_OfMoreThanTwentyGroups_AndKeepsNothing()
    {
        var zip = UploadCorpus.Zip().Class("a", 3).Class("b", 3);
        for (int g = 0; g < 25; g++)
        {
            var img = UploadCorpus.Image(1000 + g);
            zip.File($"a/g{g:00}-1.png", img).File($"a/g{g:00}-2.png", img);
        }
        zip.File("a/zz.png", UploadCorpus.Image(77)).File("b/zz.png", UploadCorpus.Image(77));

        var e = await Should.ThrowAsync<DatasetRejectedException>(() => ImportImages(zip.Bytes(), DuplicatePolicy.Refuse));

        e.Problems.Count.ShouldBe(26);
        e.Message.ShouldStartWith("Upload rejected (26 problems)");
        e.Problems.Take(25).Select(p => p.ToString()).ShouldBe(Enumerable.Range(0, 25)
            .Select(g => $"a/g{g:00}-2.png: has the same content as 'a/g{g:00}-1.png' (duplicate file)"));
        e.Problems[25].ToString().ShouldBe("b/zz.png: has the same content as 'a/zz.png' in class 'a' (the same image under two labels)");
        _store.All().ShouldBeEmpty();
        DataFolderIsClean();
    }

    [Fact]
    public async Task Drop_RefusesAClassThatDroppingLeavesTooSmall_SayingWhy_AndKeepsNothing()
    {
        var img = UploadCorpus.Image(5);
        var zip = UploadCorpus.Zip().Class("a", 3).File("b/1.png", img).File("b/2.png", img).Bytes();

        var e = await Should.ThrowAsync<DatasetRejectedException>(() => ImportImages(zip));

        e.Problems.Select(p => p.ToString()).ShouldBe([
            "b/: class 'b' has 1 image after 1 duplicate or conflicting file was dropped; each class needs at least 2 (Datasets:Upload:MinImagesPerClass)",
        ]);
        DataFolderIsClean();
    }

    [Fact]
    public async Task NearDuplicates_AResizedCopyAcrossTrainAndTest_IsReported_NotDropped()
    {
        // 12 pictures per class, each also as a resized copy under another name: a copy and its original fall in
        // different splits by chance, which is what the report must find, and only that.
        var zip = UploadCorpus.Zip();
        var twinOf = new Dictionary<string, string>();
        foreach (var cls in new[] { "a", "b" })
            for (int i = 0; i < 12; i++)
            {
                var original = UploadCorpus.Mosaic(cls[0] * 100 + i);
                string o = $"{cls}/{i:00}-orig.png", r = $"{cls}/{i:00}-small.png";
                zip.File(o, original).File(r, UploadCorpus.Resized(original, 30, 30));
                (twinOf[o], twinOf[r]) = (r, o);
            }

        var info = await ImportImages(zip.Bytes(), storedSize: 32);

        info.Examples.ShouldBe(48, "resized copies are not byte-identical: nothing is dropped");
        info.Cleaning!.TotalDropped.ShouldBe(0);
        var near = info.Cleaning.NearDuplicates.ShouldNotBeNull();
        // The stored order is the archive's paths in ordinal order.
        var files = twinOf.Keys.Order(StringComparer.Ordinal).ToList();
        var split = _store.Load("icons").Split;
        var train = split.Train.Select(i => files[i]).ToHashSet();
        var expected = split.Test.Select(i => files[i]).Where(f => train.Contains(twinOf[f])).Select(f => (f, twinOf[f])).ToList();
        expected.ShouldNotBeEmpty("the split should put some pairs across train and test; change the seed of the test data if not");
        near.TestMatched.ShouldBe(expected.Count);
        near.Examples.Where(p => p.Split == DatasetSplit.Test).Select(p => (p.File, p.TrainFile)).ShouldBe(expected, ignoreOrder: true);
        near.Examples.ShouldAllBe(p => p.SameLabel && files[p.Index] == p.File && files[p.TrainIndex] == p.TrainFile);
        var expectedValidation = split.Validation.Count(i => train.Contains(twinOf[files[i]]));
        near.ValidationMatched.ShouldBe(expectedValidation);
        near.Unhashed.ShouldBe(0);
    }

    [Fact]
    public async Task NearDuplicates_DistinctPictures_AreNotMatched()
    {
        var zip = UploadCorpus.Zip();
        foreach (var cls in new[] { "a", "b" })
            for (int i = 0; i < 20; i++) zip.File($"{cls}/{i:00}.png", UploadCorpus.Mosaic(cls[0] * 1000 + i));
        var near = (await ImportImages(zip.Bytes(), storedSize: 32)).Cleaning!.NearDuplicates!;
        (near.TestMatched, near.ValidationMatched, near.Examples.Count).ShouldBe((0, 0, 0));
    }

    static ulong HashOf(byte[] file)
    {
        var (img, problem) = UploadedImageDecoder.Decode(file, 32, UploadFit.CenterCrop, long.MaxValue);
        problem.ShouldBeNull();
        return NearDuplicates.Hash(img!);
    }

    /// <summary>Why hashes may differ in a few bits: how far a resized copy's hash lands from its original's, and how
    /// close distinct pictures come (printed, so the threshold's margin is visible).</summary>
    [Fact]
    public void Hash_OfAResizedCopy_IsWithinTheThreshold_AndDistinctPicturesAreFarther()
    {
        var copies = new List<int>();
        var originals = new List<ulong>();
        for (int i = 0; i < 40; i++)
        {
            var original = UploadCorpus.Mosaic(7000 + i);
            originals.Add(HashOf(original));
            copies.Add(System.Numerics.BitOperations.PopCount(originals[^1] ^ HashOf(UploadCorpus.Resized(original, 30, 30))));
            copies.Add(System.Numerics.BitOperations.PopCount(originals[^1] ^ HashOf(UploadCorpus.Resized(original, 80, 80, SkiaSharp.SKEncodedImageFormat.Jpeg))));
        }
        var distinct = originals.SelectMany((a, i) => originals.Skip(i + 1).Select(b => System.Numerics.BitOperations.PopCount(a ^ b))).ToList();
        _output.WriteLine($"resized copies: bits differing {string.Join(" ", copies.GroupBy(d => d).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}"))}");
        _output.WriteLine($"distinct pictures: closest {distinct.Min()} bits, median {distinct.Order().ElementAt(distinct.Count / 2)}");
        copies.ShouldAllBe(d => d <= NearDuplicates.MaxDistance);
        distinct.Min().ShouldBeGreaterThan(NearDuplicates.MaxDistance);
    }

    static string Quotes(params string[] extra) =>
        "quote,category\n" + string.Concat(Enumerable.Range(0, 6).Select(i => $"wise words {i},wisdom\nfunny words {i},humour\n")) + string.Concat(extra.Select(x => x + "\n"));

    [Fact]
    public async Task TextDrop_KeepsTheFirstOfARepeatedRow_AndDropsATextUnderTwoLabelsInEveryRow()
    {
        // Rows 1-12 are distinct; 13 repeats row 1; 14-16 file one text under two labels.
        var info = await ImportText(Quotes("wise words 0,wisdom", "to be or not,wisdom", "to be or not,humour", "to be or not,wisdom"));

        info.Examples.ShouldBe(12);
        var c = info.Cleaning.ShouldNotBeNull();
        (c.ExactDuplicatesDropped, c.ConflictGroupsDropped, c.ConflictExamplesDropped).ShouldBe((1, 1, 3));
        c.Dropped.Select(d => (d.Item, d.KeptCopy)).ShouldBe([
            ("quotes.csv row 13", "quotes.csv row 1"), ("quotes.csv row 14", null), ("quotes.csv row 15", null), ("quotes.csv row 16", null)]);
        c.Dropped[0].Reason.ShouldBe("repeats the text and label of an earlier row (duplicate row)");
        c.Dropped[1].Reason.ShouldBe("the same text is labelled 'wisdom', 'humour' in row 14, row 15, row 16; all 3 rows dropped (conflicting labels)");
        c.NearDuplicates.ShouldBeNull("texts are not checked for near-duplicates");
        info.Provenance.ShouldContain("1 exact duplicate rows and 1 conflicting-label group (3 rows) dropped at upload");
        var texts = _store.Load("quotes").Texts!.Texts;
        texts.Count(t => t == "wise words 0").ShouldBe(1);
        texts.ShouldNotContain("to be or not");
    }

    [Fact]
    public async Task TextRefuse_ListsEveryRepeatedRow_OfMoreThanTwenty_AndKeepsNothing()
    {
        var repeats = Enumerable.Range(0, 6).SelectMany(i => Enumerable.Repeat($"wise words {i},wisdom", 4)).Append("funny words 0,wisdom").ToArray();
        var e = await Should.ThrowAsync<DatasetRejectedException>(() => ImportText(Quotes(repeats), DuplicatePolicy.Refuse));

        e.Problems.Count.ShouldBe(25);
        e.Problems.Take(24).ShouldAllBe(p => p.Reason.Contains("(duplicate row;"));
        e.Problems[^1].ToString().ShouldBe("quotes.csv row 37: repeats the text of row 2 with the label 'wisdom' instead of 'humour' (conflicting labels)");
        DataFolderIsClean();
    }

    [Fact]
    public async Task TextDrop_RefusesAClassThatDroppingEmpties_SayingWhy()
    {
        var csv = "quote,category\na,x\nb,x\nc,y\nc,x\n";
        var e = await Should.ThrowAsync<DatasetRejectedException>(() => ImportText(csv));
        e.Problems.Select(p => p.ToString()).ShouldBe(["quotes.csv: has one class ('x') in column 'category' after 2 duplicate or conflicting rows were dropped; a classifier needs at least 2"]);
        DataFolderIsClean();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
