namespace ModelZoo.Core.Catalog;

/// <summary>Parameter-count buckets for the catalogue's size filter.</summary>
public enum SizeBucket
{
    /// <summary>Under 5 M parameters (MobileNets).</summary>
    Small,
    /// <summary>5 M to 50 M (ResNet-18 to ResNet-101).</summary>
    Medium,
    /// <summary>Over 50 M (ResNet-152, VGG, BERT-Base).</summary>
    Large,
}

public enum CatalogSortColumn { Name, Params, Gflops, Top1, Latency }

public sealed record CatalogSort(CatalogSortColumn Column = CatalogSortColumn.Name, bool Descending = false)
{
    /// <summary>Clicking the current column flips the direction; another column starts with what users want first:
    /// names A-Z, the most accurate first, the smallest and fastest first.</summary>
    public CatalogSort Toggle(CatalogSortColumn column) =>
        column == Column ? this with { Descending = !Descending } : new(column, column == CatalogSortColumn.Top1);
}

/// <summary>What the user chose. An empty set means "any".</summary>
public sealed record CatalogFilter
{
    public string Search { get; init; } = "";
    public IReadOnlySet<string> Tasks { get; init; } = new HashSet<string>();
    public IReadOnlySet<string> Families { get; init; } = new HashSet<string>();
    public IReadOnlySet<SizeBucket> Sizes { get; init; } = new HashSet<SizeBucket>();
    public IReadOnlySet<string> Licences { get; init; } = new HashSet<string>();
    public IReadOnlySet<WeightsAvailability> Weights { get; init; } = new HashSet<WeightsAvailability>();
}

/// <summary>
/// The catalogue page's filtering and sorting as pure functions, so they are tested without a browser. Missing
/// values (no published top-1, no GFLOPs, never measured) sort last in both directions: a model we know nothing
/// about is never "the best".
/// </summary>
public static class CatalogQuery
{
    public const string UnknownLicence = "unknown";
    public const long SmallBelow = 5_000_000, LargeAbove = 50_000_000;

    public static SizeBucket SizeOf(long parameters) =>
        parameters < SmallBelow ? SizeBucket.Small : parameters <= LargeAbove ? SizeBucket.Medium : SizeBucket.Large;

    public static string Describe(SizeBucket b) => b switch
    {
        SizeBucket.Small => "< 5 M params",
        SizeBucket.Medium => "5–50 M params",
        _ => "> 50 M params",
    };

    public static string Describe(WeightsAvailability w) => w switch
    {
        WeightsAvailability.Available => "imported",
        WeightsAvailability.Bundled => "bundled",
        WeightsAvailability.ImportToEnable => "import to enable",
        WeightsAvailability.FetchToEnable => "fetch to enable",
        _ => "random init",
    };

    public static string LicenceOf(ModelManifest m) => string.IsNullOrWhiteSpace(m.License.Name) ? UnknownLicence : m.License.Name;

    public static bool Matches(CatalogEntry e, CatalogFilter f)
    {
        var m = e.Manifest;
        if (f.Tasks.Count > 0 && !f.Tasks.Contains(m.Task)) return false;
        if (f.Families.Count > 0 && !f.Families.Contains(m.Family)) return false;
        if (f.Sizes.Count > 0 && !f.Sizes.Contains(SizeOf(e.ComputedParams))) return false;
        if (f.Licences.Count > 0 && !f.Licences.Contains(LicenceOf(m))) return false;
        if (f.Weights.Count > 0 && !f.Weights.Contains(e.Weights)) return false;
        if (string.IsNullOrWhiteSpace(f.Search)) return true;
        // Every word must appear somewhere, so "resnet in1k" narrows instead of matching nothing.
        var haystack = string.Join(' ', m.Id, m.Title, m.Architecture, m.Family, m.Task, LicenceOf(m), m.Summary);
        return f.Search.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .All(w => haystack.Contains(w, StringComparison.OrdinalIgnoreCase));
    }

    /// <param name="latencyMs">Latest measured latency of a model (batch 1), or null when never measured.</param>
    public static IReadOnlyList<CatalogEntry> Apply(IEnumerable<CatalogEntry> entries, CatalogFilter filter, CatalogSort sort,
        Func<string, double?>? latencyMs = null)
    {
        var matching = entries.Where(e => Matches(e, filter));
        if (sort.Column == CatalogSortColumn.Name)
        {
            var byName = sort.Descending
                ? matching.OrderByDescending(e => e.Manifest.Title, StringComparer.OrdinalIgnoreCase)
                : matching.OrderBy(e => e.Manifest.Title, StringComparer.OrdinalIgnoreCase);
            return byName.ThenBy(e => e.Id, StringComparer.Ordinal).ToList();
        }
        Func<CatalogEntry, double?> key = sort.Column switch
        {
            CatalogSortColumn.Params => e => e.ComputedParams,
            CatalogSortColumn.Gflops => e => e.Manifest.Gflops,
            CatalogSortColumn.Top1 => e => PublishedMetrics.Top1(e.Manifest)?.Value,
            CatalogSortColumn.Latency => e => latencyMs?.Invoke(e.Id),
            _ => throw new ArgumentOutOfRangeException(nameof(sort)),
        };
        var known = matching.Select(e => (Entry: e, Key: key(e))).ToList();
        var withValue = known.Where(k => k.Key is { } v && double.IsFinite(v)).ToList();
        IOrderedEnumerable<(CatalogEntry Entry, double? Key)> ordered;
        if (sort.Column == CatalogSortColumn.Top1)
        {
            // A top-1 on 62 glyph classes and one on ImageNet-1k are not the same scale: rank within a benchmark, and
            // list the benchmark most entries share first (ImageNet-1k for the official vision weights).
            var rank = PublishedMetrics.BenchmarkRanking(withValue.Select(k => k.Entry.Manifest));
            var grouped = withValue.OrderBy(k => rank[PublishedMetrics.BenchmarkOf(PublishedMetrics.Top1(k.Entry.Manifest)!)]);
            ordered = sort.Descending ? grouped.ThenByDescending(k => k.Key) : grouped.ThenBy(k => k.Key);
        }
        else ordered = sort.Descending ? withValue.OrderByDescending(k => k.Key) : withValue.OrderBy(k => k.Key);
        var missing = known.Where(k => k.Key is not { } v || !double.IsFinite(v)).OrderBy(k => k.Entry.Id, StringComparer.Ordinal);
        return ordered.ThenBy(k => k.Entry.Id, StringComparer.Ordinal).Concat(missing).Select(k => k.Entry).ToList();
    }
}

/// <summary>The published metrics the catalogue compares on. Only a metric with a value counts.</summary>
public static class PublishedMetrics
{
    public const string Top1Name = "top1", Top5Name = "top5";

    public static PublishedMetric? Find(ModelManifest m, string name) =>
        m.Metrics.FirstOrDefault(x => string.Equals(x.Name, name, StringComparison.OrdinalIgnoreCase) && x.Value is not null);

    public static PublishedMetric? Top1(ModelManifest m) => Find(m, Top1Name);
    public static PublishedMetric? Top5(ModelManifest m) => Find(m, Top5Name);

    public const string UnstatedBenchmark = "unstated data";

    /// <summary>The data a figure was measured on (its <c>dataset</c>, e.g. "ImageNet-1k val"): figures are only
    /// ranked or plotted against figures on the same data.</summary>
    public static string BenchmarkOf(PublishedMetric m) => string.IsNullOrWhiteSpace(m.Dataset) ? UnstatedBenchmark : m.Dataset.Trim();

    /// <summary>Rank of each top-1 benchmark among <paramref name="manifests"/>: the one most of them share is 0,
    /// ties broken by name, so the order is stable.</summary>
    public static IReadOnlyDictionary<string, int> BenchmarkRanking(IEnumerable<ModelManifest> manifests) =>
        manifests.Select(Top1).OfType<PublishedMetric>().GroupBy(BenchmarkOf, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select((g, i) => (g.Key, i)).ToDictionary(x => x.Key, x => x.i, StringComparer.Ordinal);

    /// <summary>The top-1 benchmark most of <paramref name="manifests"/> share, or null when none has a top-1.</summary>
    public static string? MainBenchmark(IEnumerable<ModelManifest> manifests) =>
        BenchmarkRanking(manifests).Where(kv => kv.Value == 0).Select(kv => kv.Key).FirstOrDefault();
}
