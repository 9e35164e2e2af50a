using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

public class StrategyCatalogTests
{
    [Fact]
    public void Catalog_ListsStrategiesInTheirOrder_AndFindsThemByIdOrOldName()
    {
        var c = TestStrategies.Catalog;
        c.All.Select(s => s.Id).ShouldBe(["feature-extraction", "few-shot-prototypes", "partial-fine-tune", "full-fine-tune", "self-training", "text-fine-tune", "dann", "adabn", "multitask", "continual", "scratch"]);
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
        StrategyCatalog.For(TestStrategies.Catalog, TestStrategies.ResNet).Select(s => s.Id).ShouldContain("adabn");
        var vit = StrategyCatalog.For(TestStrategies.Catalog, TestStrategies.Vit).Select(s => s.Id).ToList();
        vit.ShouldNotContain("adabn");
        vit.ShouldContain("dann", "DANN needs no BatchNorm");
        StrategyCatalog.Misfit(TestStrategies.Catalog.Find("adabn")!, TestStrategies.Vit)!
            .ShouldBe("Adaptive BatchNorm (AdaBN) re-estimates BatchNorm statistics, and model 'vit.tiny' has no BatchNorm layers: choose a model with BatchNorm (ResNet, MobileNet, VGG-BN) or another strategy.");
        var bert = StrategyCatalog.For(TestStrategies.Catalog, TestStrategies.Bert).Select(s => s.Id).ToList();
        bert.ShouldNotContain("adabn");
        bert.ShouldNotContain("dann", "DANN works on images only");
        bert.ShouldContain("full-fine-tune");
        StrategyCatalog.Misfit(TestStrategies.Catalog.Find("adabn")!, TestStrategies.Bert)!.ShouldContain("works on images");
    }

    [Fact]
    public void EveryCoreStrategy_ExplainsItself()
    {
        foreach (var s in TestStrategies.Catalog.All)
        {
            s.Info.Title.ShouldNotBeNullOrWhiteSpace();
            s.Info.Summary.Length.ShouldBeGreaterThan(40, s.Id);
            s.Info.Explanation.Length.ShouldBeGreaterThan(200, s.Id);
            foreach (var o in s.Options) o.Help.Length.ShouldBeGreaterThan(20, $"{s.Id}.{o.Name}");
        }
    }
}
