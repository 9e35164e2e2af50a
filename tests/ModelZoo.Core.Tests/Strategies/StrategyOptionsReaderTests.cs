using System.Text.Json.Nodes;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

public class StrategyOptionsReaderTests
{
    static readonly StrategyDescription Full = StrategyDescription.Of<FullFineTuneOptions>();
    static readonly StrategyDescription Partial = StrategyDescription.Of<PartialFineTuneOptions>();

    [Fact]
    public void Describe_GeneratesEachOption_FromTheRecord_WithItsDefaultAndLimits()
    {
        Full.Options.Select(o => o.Name).ShouldBe(["layerwiseDecay", "unfreezing", "frozenEpochs"]);
        var decay = Full.Options[0];
        decay.Kind.ShouldBe(OptionKind.Number);
        decay.Default.ShouldBe(0.7);
        decay.Min.ShouldBe(0.05);
        decay.Max.ShouldBe(1);
        var unfreezing = Full.Options[1];
        unfreezing.Kind.ShouldBe(OptionKind.Choice);
        unfreezing.Default.ShouldBe("Off");
        unfreezing.Choices.Select(c => c.Value).ShouldBe(["Off", "HeadFirst", "StageByStage"]);
        unfreezing.Choices[1].Label.ShouldContain("fastai");
        Partial.Options[0].Kind.ShouldBe(OptionKind.FrozenStages);
        Partial.Options[0].Min.ShouldBe(0, "a stage count starts at 0");
    }

    [Fact]
    public void Read_LeavesOutOptionsAtTheirDefaults() =>
        StrategyOptionsReader.Read(Full, null).Options.ShouldBe(new FullFineTuneOptions());

    [Fact]
    public void Read_TakesValuesByName_CaseInsensitively()
    {
        var (o, problems) = StrategyOptionsReader.Read(Full, new JsonObject { ["LayerwiseDecay"] = 0.5, ["unfreezing"] = "stagebystage" });
        problems.ShouldBeEmpty();
        o.ShouldBe(new FullFineTuneOptions { LayerwiseDecay = 0.5, Unfreezing = UnfreezingMode.StageByStage });
    }

    [Fact]
    public void Read_NamesAnUnknownOption_AndTheKnownOnes()
    {
        var (o, problems) = StrategyOptionsReader.Read(Full, new JsonObject { ["depth"] = 2 });
        o.ShouldBeNull();
        problems.ShouldHaveSingleItem().ShouldBe(new OptionProblem("Options.depth",
            "Full fine-tune has no option 'depth'. Its options: layerwiseDecay, unfreezing, frozenEpochs."));
    }

    [Fact]
    public void Read_RefusesWrongTypes_UnderEachOption()
    {
        var (_, problems) = StrategyOptionsReader.Read(Full, new JsonObject { ["layerwiseDecay"] = "fast", ["unfreezing"] = "sometimes", ["frozenEpochs"] = 1.5 });
        problems.Select(p => p.Field).ShouldBe(["Options.layerwiseDecay", "Options.unfreezing", "Options.frozenEpochs"]);
        problems[1].Message.ShouldBe("Gradual unfreezing must be one of Off, HeadFirst, StageByStage.");
        problems[2].Message.ShouldContain("whole number");
    }

    [Fact]
    public void Read_RefusesValuesOutsideTheLimits()
    {
        var (_, problems) = StrategyOptionsReader.Read(Full, new JsonObject { ["layerwiseDecay"] = 1.5 });
        problems.ShouldHaveSingleItem().Message.ShouldBe("Layer-wise decay must be between 0.05 and 1; it is 1.5.");
    }

    [Fact]
    public void ToJson_WritesEveryOption_SoARunRecordsWhatRan()
    {
        var json = StrategyOptionsReader.ToJson(new FullFineTuneOptions { FrozenEpochs = 2 });
        json.Select(kv => kv.Key).ShouldBe(["layerwiseDecay", "unfreezing", "frozenEpochs"]);
        StrategyOptionsReader.Read(Full, json).Options.ShouldBe(new FullFineTuneOptions { FrozenEpochs = 2 });
    }
}
