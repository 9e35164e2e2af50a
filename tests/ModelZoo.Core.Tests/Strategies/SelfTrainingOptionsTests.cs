using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>Self-training's launch checks, through the validator the form and the API share.</summary>
public class SelfTrainingOptionsTests
{
    static readonly DatasetInfo Digits = new()
    {
        Id = "digits", Title = "Digits", ClassNames = ["0", "1"], ClassCounts = [100, 100], TrainClassCounts = [70, 70],
        Examples = 200, Splits = new SplitSizes(140, 30, 30),
    };

    static IReadOnlyDictionary<string, string> Validate(HyperParameters h, JsonObject? options = null, string model = "resnet18.tv_in1k") =>
        RunRequestValidator.Validate(
            new RunRequest { ModelId = model, DatasetId = Digits.Id, Strategy = "self-training", HyperParameters = h, Options = options },
            TestStrategies.Catalog,
            id => id.StartsWith("bert") ? TestStrategies.Bert with { Id = id } : TestStrategies.ResNet with { Id = id },
            id => id == Digits.Id ? Digits : null).Errors;

    [Fact]
    public void ALabelBudget_OrATrainingLimit_LeavesExamplesToPseudoLabel()
    {
        Validate(new HyperParameters { LabelsPerClass = 10 }).ShouldBeEmpty();
        Validate(new HyperParameters { TrainLimit = 50 }).ShouldBeEmpty();
    }

    [Fact]
    public void ARunThatLabelsEveryExample_IsRefused_UnderTheLabelBudgetField()
    {
        var e = Validate(new HyperParameters());
        e.Keys.ShouldBe(["HyperParameters.LabelsPerClass"]);
        e["HyperParameters.LabelsPerClass"].ShouldContain("labels all of them");
    }

    [Fact]
    public void ADepthBeyondTheModel_AndAShareAboveItsLimit_AreRefusedByName()
    {
        var e = Validate(new HyperParameters { LabelsPerClass = 10, Epochs = 1 }, new JsonObject { ["labelledOnlyShare"] = 0.9, ["frozenStages"] = 9 });
        e.Keys.Order().ShouldBe(["Options.frozenStages"]);
        Validate(new HyperParameters { LabelsPerClass = 10, Epochs = 1 }, new JsonObject { ["labelledOnlyShare"] = 0.9 }).ShouldBeEmpty("floor(0.9) = 0 labelled-only epochs");
        Validate(new HyperParameters { LabelsPerClass = 10, Epochs = 10 }, new JsonObject { ["labelledOnlyShare"] = 0.95 }).Keys.ShouldBe(["Options.labelledOnlyShare"], "above the option's maximum of 0.9");
    }

    [Fact]
    public void TextDatasets_AreNotOffered()
    {
        TestStrategies.Catalog.Find("self-training")!.Fits(DatasetModality.Text).ShouldBeFalse();
        TestStrategies.Catalog.Find("self-training")!.Fits(DatasetModality.Image).ShouldBeTrue();
    }
}
