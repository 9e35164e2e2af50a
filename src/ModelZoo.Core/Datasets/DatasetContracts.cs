namespace ModelZoo.Core.Datasets;

public enum DatasetSplit { Train, Validation, Test }

/// <summary>Catalogue facts about a dataset, as the portal lists and the card quotes them.</summary>
public sealed record DatasetInfo
{
    public string Id { get; init; } = "";
    public string Title { get; init; } = "";
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
}

public sealed record SplitSizes(int Train, int Validation, int Test);

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

/// <summary>What a run gets from the dataset store: the images and the stored split.</summary>
public sealed record LoadedDataset(DatasetInfo Info, ImageSet Images, SplitIndices Split);

public interface IDatasetCatalog
{
    IReadOnlyList<DatasetInfo> All();
    DatasetInfo? Find(string id);
    LoadedDataset Load(string id);
}
