namespace ModelZoo.Core.Datasets;

public enum DatasetSplit { Train, Validation, Test }

/// <summary>What one example is: an image (pixels in <see cref="ImageSet"/>) or a text (<see cref="TextSet"/>).</summary>
public enum DatasetModality { Image, Text }

/// <summary>Catalogue facts about a dataset, as the portal lists and the card quotes them.</summary>
public sealed record DatasetInfo
{
    public string Id { get; init; } = "";
    public string Title { get; init; } = "";
    public DatasetModality Modality { get; init; } = DatasetModality.Image;
    public string Description { get; init; } = "";
    public IReadOnlyList<string> ClassNames { get; init; } = [];
    public int Examples { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public int Channels { get; init; }
    public string License { get; init; } = "";
    /// <summary>How the data reached this machine: registry, package, version, and its integrity hash.</summary>
    public string Provenance { get; init; } = "";
    public SplitSizes Splits { get; init; } = new(0, 0, 0);
    public int SplitSeed { get; init; }
    /// <summary>How the split was made, in a sentence (official test set kept, or stratified fractions).</summary>
    public string SplitMethod { get; init; } = "";
    /// <summary>Examples per class, in <see cref="ClassNames"/> order; the store fills it from the labels it writes.</summary>
    public IReadOnlyList<int> ClassCounts { get; init; } = [];
    /// <summary>Training-split examples per class, in <see cref="ClassNames"/> order; the store fills it from the
    /// split it writes. Empty in facts written before it was recorded: <see cref="TrainingClassCounts"/> then
    /// estimates it.</summary>
    public IReadOnlyList<int> TrainClassCounts { get; init; } = [];
    public DatasetOrigin Origin { get; init; } = DatasetOrigin.BuiltIn;
    /// <summary>The downloaded or uploaded file the dataset was built from; null for data written by code.</summary>
    public DatasetSource? Source { get; init; }
    /// <summary>Sizes and formats of the original images before they were resized for storage; null when every
    /// original already had the stored size (the built-ins).</summary>
    public SourceImageStats? SourceImages { get; init; }
    /// <summary>Training augmentations that suit this data (no flips for digits and glyphs); null in facts written
    /// before it existed, resolved by <see cref="AugmentationProfile.For"/>.</summary>
    public AugmentationProfile? Augmentation { get; init; }
    /// <summary>What the upload dropped (duplicates, conflicting labels) and the near-duplicates it found across the
    /// split; null for built-ins and for uploads made before it was recorded.</summary>
    public UploadCleaning? Cleaning { get; init; }

    /// <summary>
    /// Training-split examples per class: the recorded counts, or for facts written before they were recorded, each
    /// class's count times the training split's share of the dataset, rounded (<c>Estimated</c>). A stratified split
    /// differs from that by at most one per class; a split by source (official test sets, font families) may differ
    /// more, so whatever relies on an estimate checks again against the real split when the run starts.
    /// </summary>
    public (IReadOnlyList<int> Counts, bool Estimated) TrainingClassCounts()
    {
        if (TrainClassCounts.Count == ClassCounts.Count && TrainClassCounts.Count > 0) return (TrainClassCounts, false);
        var share = Examples > 0 ? (double)Splits.Train / Examples : 0;
        return (ClassCounts.Select(n => (int)Math.Round(n * share)).ToList(), true);
    }
}

public sealed record SplitSizes(int Train, int Validation, int Test);

public enum DatasetOrigin { BuiltIn, Upload }

/// <summary>Registry (npm, debian) or upload, the package and version, the file and its SHA-256.</summary>
public sealed record DatasetSource(string Registry, string Package, string Version, string File, string Sha256, DateTimeOffset FetchedAt);

/// <summary>What the originals looked like: formats, size range and the most common sizes.</summary>
/// <param name="Sizes">Every distinct size with its count, most common first, up to <see cref="MaxSizes"/> (the rest
/// are counted in the range only); null in facts written before it was recorded.</param>
public sealed record SourceImageStats(
    IReadOnlyDictionary<string, int> Formats,
    int MinWidth, int MedianWidth, int MaxWidth,
    int MinHeight, int MedianHeight, int MaxHeight,
    IReadOnlyList<ImageSizeCount> CommonSizes,
    int GreyImages,
    IReadOnlyList<ImageSizeCount>? Sizes = null)
{
    public const int MaxSizes = 500;
}

public sealed record ImageSizeCount(int Width, int Height, int Count);

/// <summary>Decoded images in memory: <c>Pixels</c> is N x C x H x W bytes, row-major.</summary>
public sealed class ImageSet
{
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required int Channels { get; init; }
    public required byte[] Pixels { get; init; }
    public required int[] Labels { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public int Count => Labels.Length;
    public int ImageBytes => Width * Height * Channels;
    /// <summary>The file the pixels were read from (N x C x H x W bytes), when they came from one. A dataset larger
    /// than the memory budget is not read into memory: then <see cref="Pixels"/> is empty and readers stream this file.</summary>
    public string? PixelsFile { get; init; }
    public bool Streamed => Pixels.Length == 0 && Count > 0;
}

/// <summary>Texts in memory, one label per text (a text dataset's counterpart of <see cref="ImageSet"/>).</summary>
public sealed class TextSet
{
    public required IReadOnlyList<string> Texts { get; init; }
    public required int[] Labels { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public int Count => Labels.Length;
}

/// <summary>Index lists of one dataset's stored split.</summary>
public sealed record SplitIndices(int Seed, int[] Train, int[] Validation, int[] Test)
{
    public int[] Of(DatasetSplit s) => s switch
    {
        DatasetSplit.Train => Train,
        DatasetSplit.Validation => Validation,
        _ => Test,
    };
}

/// <summary>What a run gets from the dataset store: the examples and the stored split. Exactly one of
/// <see cref="Images"/> and <see cref="Texts"/> is set, as <see cref="DatasetInfo.Modality"/> says.</summary>
public sealed record LoadedDataset(DatasetInfo Info, ImageSet? Images, SplitIndices Split)
{
    public TextSet? Texts { get; init; }
}

public interface IDatasetCatalog
{
    IReadOnlyList<DatasetInfo> All();
    DatasetInfo? Find(string id);
    LoadedDataset Load(string id);
}
