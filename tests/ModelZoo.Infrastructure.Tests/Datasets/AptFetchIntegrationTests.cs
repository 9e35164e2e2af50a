using Microsoft.Extensions.Logging.Abstractions;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>
/// Fetches UCI optdigits for real: <c>apt-get download python3-sklearn</c> (2.1 MB) from the Debian mirror into the
/// shared test download cache, then the digits out of the .deb, which is never installed. A second fetch reuses the
/// cached .deb after checking its SHA-256 against the signed package lists.
/// </summary>
public class AptFetchIntegrationTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-apt-").FullName;

    internal static string DownloadCache =>
        Environment.GetEnvironmentVariable("MODELZOO_TEST_DOWNLOADS") is { Length: > 0 } d ? d
            : Path.Combine(Path.GetTempPath(), "modelzoo-test-downloads");

    [Fact]
    public async Task OptDigits_IsFetchedWithAptGet_ParsedFromTheDeb_AndStoredWithItsProvenance()
    {
        var paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data"), DownloadCacheDir = DownloadCache }, _dir);
        var store = new DatasetStore(paths);
        using var service = new DatasetFetchService(paths, store, BuiltInDatasets.All, NullLogger<DatasetFetchService>.Instance);
        var progress = new List<double>();
        service.Changed += s => { if (s.DatasetId == OptDigitsDataset.Id) lock (progress) progress.Add(s.Progress); };

        var info = await service.EnsureAsync(OptDigitsDataset.Id, CancellationToken.None);

        info.Examples.ShouldBe(1797);
        info.ClassCounts.Sum().ShouldBe(1797);
        info.ClassCounts.ShouldAllBe(c => c >= 174 && c <= 183, "optdigits' test part holds 174 to 183 of each digit");
        info.Source!.Registry.ShouldBe("debian");
        info.Source.Package.ShouldBe("python3-sklearn");
        info.Source.Version.ShouldNotBeNullOrWhiteSpace();
        var deb = Path.Combine(DownloadCache, "debian", info.Source.File);
        File.Exists(deb).ShouldBeTrue();
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(deb))).ShouldBe(info.Source.Sha256);
        info.Provenance.ShouldContain($"sha256 {info.Source.Sha256}");
        progress.ShouldBeInOrder(SortDirection.Ascending);
        progress.Last().ShouldBe(1);

        var loaded = store.Load(OptDigitsDataset.Id);
        loaded.Images.Pixels.Max().ShouldBe((byte)255);
        loaded.Split.Test.Length.ShouldBe(info.Splits.Test);
        // Other tests fetch into the same cache at the same time; a temp folder of this package would be this fetch's.
        Directory.EnumerateDirectories(Path.Combine(DownloadCache, "debian"), ".tmp-*")
            .Where(d => Directory.EnumerateFiles(d, "python3-sklearn*").Any()).ShouldBeEmpty("no partial download is left");
    }

    [Fact]
    public async Task Glyphs_FetchesTheSmallestFontPackageWithAptGet_AndSplitsItsFamiliesApart()
    {
        // fonts-bwht (110 kB): six handwriting-style OpenType families, one face each.
        var paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data"), DownloadCacheDir = DownloadCache }, _dir);
        var store = new DatasetStore(paths);
        var progress = new List<double>();

        var info = await GlyphsDataset.FetchAsync(new DebianPackageFetcher(DownloadCache), store, ["fonts-bwht"],
            new SyncProgress(p => { lock (progress) progress.Add(p); }), CancellationToken.None);

        info.Id.ShouldBe(GlyphsDataset.Id);
        info.Examples.ShouldBeGreaterThan(3 * 50);
        (info.Splits.Train + info.Splits.Validation + info.Splits.Test).ShouldBe(info.Examples);
        info.Splits.Test.ShouldBeGreaterThan(0);
        info.SplitMethod.ShouldContain("Test (1)");
        info.License.ShouldContain("fonts-bwht: ");
        info.License.ShouldNotContain("unknown");
        info.Provenance.ShouldMatch(@"fonts-bwht \S+ \(fonts-bwht_\S+\.deb sha256 [0-9a-f]{64}\)");
        progress.ShouldBeInOrder(SortDirection.Ascending);
        progress.Last().ShouldBe(1);
        store.Load(GlyphsDataset.Id).Images.Pixels.Max().ShouldBe((byte)255);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
