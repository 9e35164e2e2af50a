using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Tests.Runs;

public class StrategyDescriptionsTests
{
    [Fact]
    public void EveryStrategyKind_HasATitleAndADescription()
    {
        foreach (var kind in Enum.GetValues<StrategyKind>())
        {
            StrategyDescriptions.Title(kind).ShouldNotBe(kind.ToString(), $"{kind} has no title");
            StrategyDescriptions.Describe(kind).ShouldNotBe(kind.ToString(), $"{kind} has no description");
            StrategyDescriptions.Describe(kind).Length.ShouldBeGreaterThan(40);
        }
    }

    [Fact]
    public void FineTuneDescriptions_StateTheLayerwiseDecay()
    {
        StrategyDescriptions.Describe(StrategyKind.FullFineTune).ShouldContain("0.7");
        StrategyDescriptions.Describe(StrategyKind.PartialFineTune).ShouldContain("0.7");
        StrategyDescriptions.LayerwiseDecayOf(StrategyKind.FeatureExtraction).ShouldBeNull();
    }

    [Fact]
    public void PartialDescription_NamesTheStagesItIsGiven()
    {
        StrategyDescriptions.Describe(StrategyKind.PartialFineTune, ["stem", "layer1"], ["layer2", "head"])
            .ShouldEndWith("Here, layer2 and head train; stem and layer1 are frozen.");
    }
}
