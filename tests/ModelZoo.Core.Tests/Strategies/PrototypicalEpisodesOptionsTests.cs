using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>The meta-learned few-shot strategy's launch checks, through the validator the form and the API share.</summary>
public class PrototypicalEpisodesOptionsTests
{
    static readonly StrategyCatalog Catalog = new([.. TestStrategies.Catalog.All, StrategyDescription.Of<PrototypicalEpisodesOptions>()]);

    /// <summary>Twelve classes of 40 examples, 28 of each in training, 6 in validation and 6 in test; class 'l' has
    /// only 20 (14 training, 3 and 3).</summary>
    static readonly DatasetInfo Letters = new()
    {
        Id = "letters", Title = "Letters", ClassNames = [.. "abcdefghijkl".Select(c => c.ToString())],
        ClassCounts = [.. Enumerable.Repeat(40, 11), 20], TrainClassCounts = [.. Enumerable.Repeat(28, 11), 14],
        Examples = 460, Splits = new SplitSizes(322, 69, 69),
    };

    static IReadOnlyDictionary<string, string> Validate(DatasetInfo data, JsonObject? options, HyperParameters? h = null) =>
        RunRequestValidator.Validate(
            new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = data.Id, Strategy = "prototypical-episodes", HyperParameters = h ?? new HyperParameters(), Options = options },
            Catalog, id => TestStrategies.ResNet with { Id = id }, id => id == data.Id ? data : null).Errors;

    static JsonObject O(int ways = 5, int shots = 1, int queries = 2, int novel = 5) =>
        new() { ["ways"] = ways, ["shots"] = shots, ["queries"] = queries, ["novelClasses"] = novel };

    [Fact]
    public void AnEpisodeThatFitsTheBaseAndNovelClasses_IsAccepted()
    {
        Validate(Letters, O()).ShouldBeEmpty();
        Validate(Letters, O(ways: 5, novel: 7)).ShouldBeEmpty("7 novel and 5 base classes both hold 5 ways");
    }

    [Fact]
    public void TheDefaults_DoNotFitTwelveSmallClasses_AndSayWhich()
    {
        // 10 novel classes leave 2 base classes for 5 ways, and 5 + 10 examples per class are more than the 3 test examples 'l' has.
        var e = Validate(Letters, null);
        e.Keys.ShouldBe(["Options.ways", "Options.queries"], ignoreOrder: true);
        e["Options.ways"].ShouldBe("Ways must be at most 2: a 5-way training episode needs 5 base classes, and dataset 'letters' keeps 2 of its 12 after 10 novel ones.");
        e["Options.queries"].ShouldBe("Shots plus queries must be at most 14: a training episode takes 5 + 10 examples of a base class, and class 'l' has only 14 training examples. Lower 'shots' or 'queries'.");
    }

    [Fact]
    public void ShotsPlusQueries_BeyondTheSmallestClassesTestSplit_AreRefused_SinceAnyClassMayBeNovel()
    {
        // 1 + 3 fit every class's 14 or more training examples, but not the 3 test examples 'l' has.
        Validate(Letters, O(shots: 1, queries: 3))["Options.queries"].ShouldBe(
            "Shots plus queries must be at most 3: an evaluation episode takes 1 + 3 test examples of a novel class, and class 'l' has about 3 in dataset 'letters''s test split. Lower 'shots' or 'queries'.");
    }

    [Fact]
    public void MoreWaysThanNovelClasses_AreRefused_NamingWays()
    {
        var e = Validate(Letters, O(ways: 6, novel: 5));
        e.Keys.ShouldBe(["Options.ways"]);
        e["Options.ways"].ShouldBe("Ways must be at most 5: a 6-way evaluation episode needs 6 novel classes and the run holds out 5 (option 'novelClasses').");
    }

    [Fact]
    public void MoreWaysThanBaseClasses_AreRefused_NamingWaysAndTheBaseCount()
    {
        var e = Validate(Letters, O(ways: 5, novel: 8));
        e["Options.ways"].ShouldBe("Ways must be at most 4: a 5-way training episode needs 5 base classes, and dataset 'letters' keeps 4 of its 12 after 8 novel ones.");
    }

    [Fact]
    public void AsManyNovelClassesAsTheDatasetHas_AreRefused_NamingNovelClasses()
    {
        var e = Validate(Letters, O(novel: 12));
        e.Keys.ShouldBe(["Options.novelClasses"]);
        e["Options.novelClasses"].ShouldContain("fewer than the dataset's 12 classes");
    }

    [Fact]
    public void ShotsPlusQueries_BeyondTheSmallestTrainingClass_AreRefused()
    {
        // 28 per training class except 'l' (14): 10 + 5 fit the common classes, not 'l'.
        var e = Validate(Letters with { ClassCounts = [.. Enumerable.Repeat(100, 12)], TrainClassCounts = [.. Enumerable.Repeat(28, 11), 14] }, O(shots: 10, queries: 5));
        e["Options.queries"].ShouldBe("Shots plus queries must be at most 14: a training episode takes 10 + 5 examples of a base class, and class 'l' has only 14 training examples. Lower 'shots' or 'queries'.");
    }

    [Fact]
    public void ShotsPlusQueries_BeyondTheLabelBudget_AreRefused_NamingTheBudget()
    {
        var e = Validate(Letters, O(shots: 1, queries: 2), new HyperParameters { LabelsPerClass = 2 });
        e["Options.queries"].ShouldBe("Shots plus queries must be at most 2: the run's label budget keeps 2 training examples per class, and an episode takes 1 + 2.");
    }

    [Theory]
    [InlineData("testEpisodes", 99, "Test episodes must be between 100 and 10000; it is 99.")]
    [InlineData("ways", 1, "Ways (N) must be between 2 and 50; it is 1.")]
    [InlineData("backboneRateScale", 0, "Backbone rate scale must be between 0.001 and 1; it is 0.")]
    public void OptionsOutsideTheirLimits_AreRefusedByTheirLimits(string option, double value, string message)
    {
        var o = O();
        o[option] = JsonNode.Parse(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Validate(Letters, o)[$"Options.{option}"].ShouldBe(message);
    }

    [Fact]
    public void TheStrategy_TrainsImagesOnly()
    {
        var info = PrototypicalEpisodesOptions.Info;
        info.Trains.ShouldBeTrue();
        info.Modalities.ShouldBe([DatasetModality.Image]);
        Catalog.Find("prototypical-episodes")!.Options.Select(o => o.Name).ShouldBe(
            ["ways", "shots", "queries", "episodesPerEpoch", "novelClasses", "testEpisodes", "backboneRateScale", "logitScale"]);
    }
}
