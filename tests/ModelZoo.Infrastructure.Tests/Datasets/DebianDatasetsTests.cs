using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

public class DebianDatasetsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-deb-").FullName;
    readonly DatasetStore _store;
    static readonly DatasetSource Source = new("debian", "test", "1.0-test1", "test.deb", new string('0', 64), DateTimeOffset.UnixEpoch);

    public DebianDatasetsTests() => _store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir));

    /// <summary>Fashion-MNIST's four files for <paramref name="train"/> and <paramref name="test"/> images; image i's
    /// pixels are all (i % 251) and its label is i % 10, so both can be checked after parsing.</summary>
    static Dictionary<string, byte[]> FashionFiles(int train, int test, Func<string, byte[], byte[]>? tamper = null)
    {
        var files = new Dictionary<string, byte[]>();
        foreach (var (prefix, n, offset) in new[] { ("train", train, 0), ("t10k", test, 1000) })
        {
            var pixels = Enumerable.Range(0, n).SelectMany(i => Enumerable.Repeat((byte)((i + offset) % 251), 784)).ToArray();
            var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
            var img = DebFixtures.Idx([n, 28, 28], pixels);
            var lab = DebFixtures.Idx([n], labels);
            files[$"{FashionMnistDataset.Folder}{prefix}-images-idx3-ubyte.gz"] = DebFixtures.Gzip(tamper?.Invoke($"{prefix}-images", img) ?? img);
            files[$"{FashionMnistDataset.Folder}{prefix}-labels-idx1-ubyte.gz"] = DebFixtures.Gzip(tamper?.Invoke($"{prefix}-labels", lab) ?? lab);
        }
        return files;
    }

    [Fact]
    public async Task FashionMnist_ReadFromARealDeb_KeepsTheOfficialTestSet_AndSplitsValidationFromTraining()
    {
        var deb = DebFixtures.Build(_dir, FashionMnistDataset.Package, FashionFiles(200, 50));
        var files = await DebArchive.ReadFilesAsync(deb, n => n.StartsWith(FashionMnistDataset.Folder), CancellationToken.None);
        files.Keys.Count.ShouldBe(4);
        var info = FashionMnistDataset.Build(files, Source, _store, null, CancellationToken.None);

        info.Examples.ShouldBe(250);
        info.ClassNames[9].ShouldBe("Ankle boot");
        info.ClassCounts.ShouldBe(Enumerable.Repeat(25, 10));
        info.License.ShouldContain("MIT");
        info.Provenance.ShouldContain("apt-get download dataset-fashion-mnist");
        info.SplitMethod.ShouldContain("official test set");
        var loaded = _store.Load(FashionMnistDataset.Id);
        loaded.Split.Test.ShouldBe(Enumerable.Range(200, 50), "the official test images, in order, are the test split");
        loaded.Split.Validation.Length.ShouldBe(20);
        loaded.Split.Validation.ShouldAllBe(i => i < 200);
        loaded.Split.Validation.Count(i => loaded.Images.Labels[i] == 3).ShouldBe(2, "validation is stratified");
        loaded.Split.Train.Length.ShouldBe(180);
        loaded.Images.Pixels[(200 + 7) * 784 + 100].ShouldBe((byte)((1000 + 7) % 251), "test image 7 follows the training images");
        loaded.Images.Labels[200 + 7].ShouldBe(7);
    }

    [Theory]
    [InlineData("train-images", "data bytes; its header promises")]
    [InlineData("t10k-labels", "bad magic number")]
    public void FashionMnist_RejectsADamagedIdxFile_AndStoresNothing(string which, string reason)
    {
        var files = FashionFiles(20, 10, (name, bytes) => name != which ? bytes
            : reason.StartsWith("bad") ? [1, .. bytes[1..]] : bytes[..^5]);
        Should.Throw<DatasetFetchException>(() => FashionMnistDataset.Build(files, Source, _store, null, CancellationToken.None))
            .Message.ShouldContain(reason);
        _store.All().ShouldBeEmpty();
    }

    [Fact]
    public void FashionMnist_RejectsImageAndLabelCountsThatDisagree()
    {
        var files = FashionFiles(20, 10);
        files[$"{FashionMnistDataset.Folder}t10k-labels-idx1-ubyte.gz"] = DebFixtures.Gzip(DebFixtures.Idx([9], new byte[9]));
        Should.Throw<DatasetFetchException>(() => FashionMnistDataset.Build(files, Source, _store, null, CancellationToken.None))
            .Message.ShouldContain("holds 10 images but");
    }

    static byte[] DigitsCsv(int perDigit, Func<int, int, string>? row = null)
    {
        var lines = new List<string>();
        for (int i = 0; i < perDigit * 10; i++)
            lines.Add(row?.Invoke(i, i % 10) ?? string.Join(",", Enumerable.Range(0, 64).Select(p => (p + i) % 17).Append(i % 10)));
        return DebFixtures.Gzip(System.Text.Encoding.ASCII.GetBytes(string.Join("\n", lines) + "\n"));
    }

    const string SklearnPath = "usr/lib/python3/dist-packages/" + OptDigitsDataset.FileSuffix;

    [Fact]
    public async Task OptDigits_ReadFromARealDeb_ScalesCountsToBytes_AndSplitsStratified()
    {
        var deb = DebFixtures.Build(_dir, OptDigitsDataset.Package, new Dictionary<string, byte[]>
        {
            [SklearnPath] = DigitsCsv(20),
            ["usr/lib/python3/dist-packages/sklearn/__init__.py"] = "# not wanted"u8.ToArray(),
        });
        var files = await DebArchive.ReadFilesAsync(deb, n => n.EndsWith(OptDigitsDataset.FileSuffix), CancellationToken.None);
        var (name, csv) = files.ShouldHaveSingleItem();
        name.ShouldBe(SklearnPath, "dpkg-deb's leading ./ is dropped");
        var info = OptDigitsDataset.Build(csv, name, Source, _store, null, CancellationToken.None);

        (info.Examples, info.Width, info.Height, info.Channels).ShouldBe((200, 8, 8, 1));
        info.License.ShouldContain("BSD-3-Clause");
        info.ClassCounts.ShouldBe(Enumerable.Repeat(20, 10));
        var loaded = _store.Load(OptDigitsDataset.Id);
        loaded.Images.Pixels[5 * 64 + 11].ShouldBe((byte)255, "row 5, pixel 11 counts (11 + 5) % 17 = 16: all on");
        loaded.Images.Pixels[5 * 64 + 3].ShouldBe((byte)Math.Round(8 * 255 / 16.0));
        loaded.Images.Labels[5].ShouldBe(5);
        (info.Splits.Train, info.Splits.Validation, info.Splits.Test).ShouldBe((140, 30, 30));
        loaded.Split.Test.Count(i => loaded.Images.Labels[i] == 4).ShouldBe(3);
    }

    [Theory]
    [InlineData(17, "column 4: 17 is outside 0..16")]
    [InlineData(-1, "column 4: '-1' is not a whole number")]
    public void OptDigits_RejectsAPixelOutOfRange_WithItsLineAndColumn(int bad, string reason)
    {
        var csv = DigitsCsv(3, (i, label) => string.Join(",", Enumerable.Range(0, 64).Select(p => i == 12 && p == 3 ? bad : 0).Append(label)));
        Should.Throw<DatasetFetchException>(() => OptDigitsDataset.Build(csv, "digits.csv.gz", Source, _store, null, CancellationToken.None))
            .Message.ShouldBe($"digits.csv.gz line 13, {reason}.");
        _store.All().ShouldBeEmpty();
    }

    [Fact]
    public void OptDigits_RejectsARowWithTheWrongNumberOfValues()
    {
        var csv = DigitsCsv(2, (i, label) => i == 4 ? "1,2,3" : string.Join(",", Enumerable.Repeat(0, 64).Append(label)));
        Should.Throw<DatasetFetchException>(() => OptDigitsDataset.Build(csv, "digits.csv.gz", Source, _store, null, CancellationToken.None))
            .Message.ShouldContain("line 5: 3 values");
    }

    [Fact]
    public async Task DebArchive_RefusesAPayloadPathThatEscapes()
    {
        var deb = DebFixtures.HandMade(_dir, [("./usr/share/ok.txt", [1]), ("./../../etc/evil", [2])]);
        (await Should.ThrowAsync<DatasetFetchException>(() => DebArchive.ReadFilesAsync(deb, _ => true, CancellationToken.None)))
            .Message.ShouldContain("'../../etc/evil' points outside the archive");
    }

    [Fact]
    public async Task DebArchive_ReadsAHandMadeDeb_WithAGzipPayload()
    {
        var deb = DebFixtures.HandMade(_dir, [("./usr/share/a.txt", "hello"u8.ToArray())]);
        var files = await DebArchive.ReadFilesAsync(deb, _ => true, CancellationToken.None);
        files["usr/share/a.txt"].ShouldBe("hello"u8.ToArray());
    }

    [Fact]
    public async Task DebArchive_ExplainsAFileThatIsNotADeb()
    {
        var path = Path.Combine(_dir, "junk.deb");
        File.WriteAllText(path, "this is not an ar archive");
        (await Should.ThrowAsync<DatasetFetchException>(() => DebArchive.ReadFilesAsync(path, _ => true, CancellationToken.None)))
            .Message.ShouldContain("junk.deb is not a valid .deb (dpkg-deb exit 2)");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
