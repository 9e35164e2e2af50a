using System.IO.Compression;
using System.Text;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// UCI optical recognition of handwritten digits (Alpaydin and Kaynak, 1998) as scikit-learn ships it, read from
/// the <c>python3-sklearn</c> .deb without installing it: <c>sklearn/datasets/data/digits.csv.gz</c>, 1,797 rows of
/// 64 counts (0..16, the on-pixels of 4x4 blocks of a 32x32 bitmap) and the digit. Stored as 8x8 grey bytes,
/// scaled by 255/16 and rounded. This file is UCI's test part (13 writers, no writer ids), so the split is a plain
/// stratified, seeded 70/15/15 over digits.
/// </summary>
public static class OptDigitsDataset
{
    public const string Id = "optdigits";
    public const string Package = "python3-sklearn";
    public const string FileSuffix = "sklearn/datasets/data/digits.csv.gz";
    public const int SplitSeed = 20261123;
    public const string License = "BSD-3-Clause (scikit-learn, debian/copyright of python3-sklearn); data from the UCI Machine Learning Repository";
    const int Side = 8;

    public static BuiltInDataset Definition { get; } = new()
    {
        Id = Id, Title = "UCI optdigits 8x8 (Debian python3-sklearn)", Registry = "debian", Package = Package,
        License = License, DownloadSize = "2.1 MB",
        Description = "1,797 grey 8x8 handwritten digits (UCI optdigits, 13 writers) from scikit-learn's digits.csv.gz.",
        FetchAsync = (ctx, progress, ct) => FetchAsync(ctx.Debian, ctx.Store, progress, ct),
    };

    public static async Task<DatasetInfo> FetchAsync(DebianPackageFetcher apt, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        var deb = await apt.FetchAsync(Package, FashionMnistDataset.Scaled(progress, 0.02, 0.7), ct);
        var files = await DebArchive.ReadFilesAsync(deb.DebPath, n => n.EndsWith(FileSuffix, StringComparison.Ordinal), ct);
        progress?.Report(0.85);
        var csv = files.Count == 1 ? files.Single() : throw new DatasetFetchException(files.Count == 0
            ? $"{deb.FileName} holds no {FileSuffix}."
            : $"{deb.FileName} holds {files.Count} files named {FileSuffix}: {string.Join(", ", files.Keys)}.");
        return Build(csv.Value, csv.Key, FashionMnistDataset.Source(deb), store, progress, ct);
    }

    public static DatasetInfo Build(byte[] csvGz, string name, DatasetSource source, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        string text;
        try
        {
            using var gz = new GZipStream(new MemoryStream(csvGz), CompressionMode.Decompress);
            using var reader = new StreamReader(gz, new UTF8Encoding(false, throwOnInvalidBytes: true));
            text = reader.ReadToEnd();
        }
        catch (InvalidDataException e) { throw new DatasetFetchException($"{name} is not valid gzip: {e.Message}", e); }
        catch (DecoderFallbackException e) { throw new DatasetFetchException($"{name} is not text: {e.Message}", e); }

        var pixels = new List<byte>(1797 * 64);
        var labels = new List<int>(1797);
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            ct.ThrowIfCancellationRequested();
            var cells = line.Split(',');
            if (cells.Length != Side * Side + 1)
                throw new DatasetFetchException($"{name} line {lineNo}: {cells.Length} values; expected 64 pixels and a label.");
            for (int i = 0; i < cells.Length; i++)
            {
                if (!int.TryParse(cells[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v))
                    throw new DatasetFetchException($"{name} line {lineNo}, column {i + 1}: '{cells[i]}' is not a whole number.");
                if (i < Side * Side)
                {
                    if (v > 16) throw new DatasetFetchException($"{name} line {lineNo}, column {i + 1}: {v} is outside 0..16.");
                    pixels.Add((byte)Math.Round(v * 255 / 16.0));
                }
                else
                {
                    if (v > 9) throw new DatasetFetchException($"{name} line {lineNo}: label {v} is not a digit.");
                    labels.Add(v);
                }
            }
        }
        if (labels.Count == 0) throw new DatasetFetchException($"{name} holds no digits.");
        progress?.Report(0.92);

        var split = StratifiedSplitter.Split(labels, SplitSeed);
        var classNames = Enumerable.Range(0, 10).Select(d => d.ToString()).ToList();
        var info = new DatasetInfo
        {
            Augmentation = AugmentationProfile.Digits,
            Id = Id,
            Title = Definition.Title,
            Description = $"{labels.Count:N0} handwritten digits by 13 writers (UCI optdigits test part), as 8x8 grey images: "
                + "each pixel counts the on-pixels of a 4x4 block of the original 32x32 bitmap (0..16, stored x255/16).",
            ClassNames = classNames,
            Examples = labels.Count,
            Width = Side, Height = Side, Channels = 1,
            License = License,
            Provenance = $"apt-get download {Package} (Debian) version {source.Version}, not installed; {name} from {source.File} sha256 {source.Sha256}",
            Source = source,
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            SplitSeed = SplitSeed,
            SplitMethod = $"Stratified by digit, 70 % train, 15 % validation, 15 % test, seed {SplitSeed}. The file has no writer ids, so writers are not kept apart.",
        };
        info = store.Write(info, new ImageSet { Width = Side, Height = Side, Channels = 1, Pixels = [.. pixels], Labels = [.. labels], ClassNames = classNames }, split);
        progress?.Report(1);
        return info;
    }
}
