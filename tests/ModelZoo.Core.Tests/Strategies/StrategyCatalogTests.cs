using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

public class StrategyCatalogTests
{
    [Fact]
    public void Catalog_ListsStrategiesInTheirOrder_AndFindsThemByIdOrOldName()
    {
        var c = TestStrategies.Catalog;
        c.All.Select(s => s.Id).ShouldBe(["feature-extraction", "few-shot-prototypes", "partial-fine-tune", "full-fine-tune", "text-fine-tune", "scratch", "bn-stand-in"]);
        c.Find("FeatureExtraction")!.Id.ShouldBe("feature-extraction");
        c.Find("nothing").ShouldBeNull();
    }

    [Fact]
    public void Catalog_RefusesANameRegisteredTwice() =>
        Should.Throw<InvalidOperationException>(() => new StrategyCatalog([StrategyDescription.Of<ScratchOptions>(), StrategyDescription.Of<ScratchOptions>()]))
            .Message.ShouldContain("'scratch' is registered twice");

    [Fact]
    public void For_OffersBatchNormStrategies_OnlyToModelsWithBatchNorm()
    {
        StrategyCatalog.For(TestStrategies.Catalog, TestStrategies.ResNet).Select(s => s.Id).ShouldContain("bn-stand-in");
        var bert = StrategyCatalog.For(TestStrategies.Catalog, TestStrategies.Bert).Select(s => s.Id).ToList();
        bert.ShouldNotContain("bn-stand-in");
        bert.ShouldContain("full-fine-tune");
        StrategyCatalog.Misfit(TestStrategies.Catalog.Find("bn-stand-in")!, TestStrategies.Bert)!.ShouldContain("works on images");
    }

    [Fact]
    public void EveryCoreStrategy_ExplainsItself()
    {
        foreach (var s in TestStrategies.Catalog.All.Where(s => s.Id != "bn-stand-in"))
        {
            s.Info.Title.ShouldNotBeNullOrWhiteSpace();
            s.Info.Summary.Length.ShouldBeGreaterThan(40, s.Id);
            s.Info.Explanation.Length.ShouldBeGreaterThan(200, s.Id);
            foreach (var o in s.Options) o.Help.Length.ShouldBeGreaterThan(20, $"{s.Id}.{o.Name}");
        }
    }
}
