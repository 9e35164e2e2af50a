using ModelZoo.Core.Catalog;

namespace ModelZoo.Core.Tests.Catalog;

public class CatalogQueryTests
{
    static CatalogEntry Entry(string id, string family, long parameters, double? gflops = null, double? top1 = null,
        string task = "image-classification", string? licence = "BSD-3-Clause",
        WeightsAvailability weights = WeightsAvailability.ImportToEnable, string? title = null) =>
        new(new ModelManifest
        {
            Id = id, Architecture = id.Split('.')[0], Tag = id.Split('.')[1], Family = family, Task = task,
            Title = title ?? id, Gflops = gflops, License = new LicenseInfo { Name = licence, Source = licence is null ? null : "test" },
            Metrics = top1 is { } t ? [new PublishedMetric { Name = "top1", Value = t, Dataset = "ImageNet-1k val", Source = "paper" }] : [],
        }, "", parameters, weights);

    static readonly CatalogEntry[] Zoo =
    [
        Entry("resnet18.tv", "resnet", 11_689_512, 1.814, 69.758, title: "ResNet-18"),
        Entry("resnet50.tv", "resnet", 25_557_032, 4.089, 76.13, title: "ResNet-50", weights: WeightsAvailability.Available),
        Entry("mobilenet_v3_small.tv", "mobilenet", 2_542_856, 0.057, 67.668, title: "MobileNetV3-Small"),
        Entry("vgg16.tv", "vgg", 138_357_544, 15.47, 71.592, title: "VGG-16"),
        Entry("bert.base", "bert", 109_483_778, task: "text-classification", licence: "Apache-2.0", title: "BERT-Base"),
        Entry("house.glyphs", "resnet", 11_181_642, licence: null, weights: WeightsAvailability.RandomInit, title: "House glyphs"),
    ];

    static IReadOnlyList<string> Ids(IEnumerable<CatalogEntry> entries) => entries.Select(e => e.Id).ToList();

    [Theory]
    [InlineData(4_999_999, SizeBucket.Small)]
    [InlineData(5_000_000, SizeBucket.Medium)]
    [InlineData(50_000_000, SizeBucket.Medium)]
    [InlineData(50_000_001, SizeBucket.Large)]
    public void SizeOf_PutsAParameterCountInItsBucket(long parameters, SizeBucket expected) =>
        CatalogQuery.SizeOf(parameters).ShouldBe(expected);

    [Fact]
    public void AnEmptyFilter_KeepsEveryEntry() =>
        CatalogQuery.Apply(Zoo, new CatalogFilter(), new CatalogSort()).Count.ShouldBe(Zoo.Length);

    [Fact]
    public void Filters_CombineAcrossKinds_AndAnyValueWithinAKind()
    {
        var f = new CatalogFilter
        {
            Families = new HashSet<string> { "resnet", "mobilenet" },
            Sizes = new HashSet<SizeBucket> { SizeBucket.Small, SizeBucket.Medium },
            Weights = new HashSet<WeightsAvailability> { WeightsAvailability.ImportToEnable },
        };
        Ids(CatalogQuery.Apply(Zoo, f, new CatalogSort())).ShouldBe(["mobilenet_v3_small.tv", "resnet18.tv"]);
    }

    [Fact]
    public void TaskAndLicenceFilters_TreatAMissingLicenceAsUnknown()
    {
        Ids(Zoo.Where(e => CatalogQuery.Matches(e, new CatalogFilter { Tasks = new HashSet<string> { "text-classification" } })))
            .ShouldBe(["bert.base"]);
        Ids(Zoo.Where(e => CatalogQuery.Matches(e, new CatalogFilter { Licences = new HashSet<string> { CatalogQuery.UnknownLicence } })))
            .ShouldBe(["house.glyphs"]);
    }

    [Fact]
    public void LargeSizeFilter_KeepsOnlyModelsOver50MParameters() =>
        Ids(CatalogQuery.Apply(Zoo, new CatalogFilter { Sizes = new HashSet<SizeBucket> { SizeBucket.Large } }, new CatalogSort()))
            .ShouldBe(["bert.base", "vgg16.tv"]);

    [Theory]
    [InlineData("RESNET 50", new[] { "resnet50.tv" })]
    [InlineData("apache", new[] { "bert.base" })]
    [InlineData("mobilenet small", new[] { "mobilenet_v3_small.tv" })]
    [InlineData("resnet nothing-like-this", new string[0])]
    public void Search_NeedsEveryWord_InAnyField_IgnoringCase(string search, string[] expected) =>
        Ids(CatalogQuery.Apply(Zoo, new CatalogFilter { Search = search }, new CatalogSort())).ShouldBe(expected);

    /// <summary>A house entry's 78 % on glyphs must not rank above ResNet-50's 76 % on ImageNet: figures are ranked
    /// within their benchmark, and the benchmark most entries share comes first, in either direction.</summary>
    [Fact]
    public void SortingByTop1_RanksWithinABenchmark_TheSharedBenchmarkFirst()
    {
        var glyphs = new CatalogEntry(Zoo[5].Manifest with
        {
            Metrics = [new PublishedMetric { Name = "top1", Value = 78.46, Dataset = "glyphs test split", Source = "measured" }],
        }, "", 11_181_642, WeightsAvailability.Bundled);
        var zoo = Zoo.Take(5).Append(glyphs).ToList();
        Ids(CatalogQuery.Apply(zoo, new CatalogFilter(), new CatalogSort(CatalogSortColumn.Top1, Descending: true)))
            .ShouldBe(["resnet50.tv", "vgg16.tv", "resnet18.tv", "mobilenet_v3_small.tv", "house.glyphs", "bert.base"]);
        Ids(CatalogQuery.Apply(zoo, new CatalogFilter(), new CatalogSort(CatalogSortColumn.Top1)))
            .ShouldBe(["mobilenet_v3_small.tv", "resnet18.tv", "vgg16.tv", "resnet50.tv", "house.glyphs", "bert.base"]);
        PublishedMetrics.MainBenchmark(zoo.Select(e => e.Manifest)).ShouldBe("ImageNet-1k val");
        PublishedMetrics.MainBenchmark([glyphs.Manifest]).ShouldBe("glyphs test split");
        PublishedMetrics.MainBenchmark([Zoo[4].Manifest]).ShouldBeNull();
    }

    [Fact]
    public void SortingByTop1Descending_PutsTheMostAccurateFirst_AndUnpublishedLast() =>
        Ids(CatalogQuery.Apply(Zoo, new CatalogFilter(), new CatalogSort(CatalogSortColumn.Top1, Descending: true)))
            .ShouldBe(["resnet50.tv", "vgg16.tv", "resnet18.tv", "mobilenet_v3_small.tv", "bert.base", "house.glyphs"]);

    [Fact]
    public void SortingByGflopsAscending_AlsoPutsMissingValuesLast() =>
        Ids(CatalogQuery.Apply(Zoo, new CatalogFilter(), new CatalogSort(CatalogSortColumn.Gflops)))
            .ShouldBe(["mobilenet_v3_small.tv", "resnet18.tv", "resnet50.tv", "vgg16.tv", "bert.base", "house.glyphs"]);

    [Fact]
    public void SortingByParams_OrdersByTheComputedCount_BothWays()
    {
        Ids(CatalogQuery.Apply(Zoo, new CatalogFilter(), new CatalogSort(CatalogSortColumn.Params)))
            .ShouldBe(["mobilenet_v3_small.tv", "house.glyphs", "resnet18.tv", "resnet50.tv", "bert.base", "vgg16.tv"]);
        Ids(CatalogQuery.Apply(Zoo, new CatalogFilter(), new CatalogSort(CatalogSortColumn.Params, Descending: true)))
            .ShouldBe(["vgg16.tv", "bert.base", "resnet50.tv", "resnet18.tv", "house.glyphs", "mobilenet_v3_small.tv"]);
    }

    [Fact]
    public void SortingByLatency_UsesTheMeasuredValues_AndPutsUnmeasuredModelsLast()
    {
        var measured = new Dictionary<string, double> { ["vgg16.tv"] = 180, ["resnet18.tv"] = 21.5, ["mobilenet_v3_small.tv"] = 6.1 };
        var sorted = CatalogQuery.Apply(Zoo, new CatalogFilter(), new CatalogSort(CatalogSortColumn.Latency),
            id => measured.TryGetValue(id, out var ms) ? ms : null);
        Ids(sorted).Take(3).ShouldBe(["mobilenet_v3_small.tv", "resnet18.tv", "vgg16.tv"]);
        Ids(sorted).Skip(3).ShouldBe(["bert.base", "house.glyphs", "resnet50.tv"], "unmeasured, by id");
    }

    [Fact]
    public void SortingByName_UsesTheTitle() =>
        Ids(CatalogQuery.Apply(Zoo, new CatalogFilter(), new CatalogSort(CatalogSortColumn.Name, Descending: true))).First().ShouldBe("vgg16.tv");

    [Fact]
    public void Toggle_FlipsTheCurrentColumn_AndStartsTop1WithTheMostAccurate()
    {
        var byParams = new CatalogSort().Toggle(CatalogSortColumn.Params);
        byParams.ShouldBe(new CatalogSort(CatalogSortColumn.Params, Descending: false));
        byParams.Toggle(CatalogSortColumn.Params).Descending.ShouldBeTrue();
        byParams.Toggle(CatalogSortColumn.Top1).ShouldBe(new CatalogSort(CatalogSortColumn.Top1, Descending: true));
    }

    [Fact]
    public void PublishedMetrics_IgnoreAMetricWithoutValue()
    {
        var m = new ModelManifest { Metrics = [new PublishedMetric { Name = "top1", Value = null, Source = "" }] };
        PublishedMetrics.Top1(m).ShouldBeNull();
    }
}
