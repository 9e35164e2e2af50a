using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>The text fine-tune's launch checks, through the validator the form and the API share.</summary>
public class TextFineTuneOptionsTests
{
    static readonly DatasetInfo Spam = new() { Id = "spam", Title = "Spam", Modality = DatasetModality.Text, ClassNames = ["ham", "spam"], ClassCounts = [50, 50] };

    /// <summary>A 4-layer BERT's stages, as the catalogue computes them from the module.</summary>
    static readonly ModelFacts FourLayers = new("bert_mlm.mini_house", DatasetModality.Text,
        ["embeddings", "encoder.layer.0", "encoder.layer.1", "encoder.layer.2", "encoder.layer.3", "pooler", "head"], HasBatchNorm: false);

    static IReadOnlyDictionary<string, string> Validate(JsonObject? options, ModelFacts? model = null, DatasetInfo? data = null)
    {
        var m = model ?? FourLayers;
        var d = data ?? Spam;
        return RunRequestValidator.Validate(
            new RunRequest { ModelId = m.Id, DatasetId = d.Id, Strategy = "text-fine-tune", Options = options },
            TestStrategies.Catalog, id => id == m.Id ? m : null, id => id == d.Id ? d : null).Errors;
    }

    [Fact]
    public void EncoderLayers_AreCountedFromTheStagesNamedEncoderLayerN()
    {
        TextFineTuneOptions.EncoderLayers(FourLayers.Stages).ShouldBe(4);
        TextFineTuneOptions.EncoderLayers(TestStrategies.ResNet.Stages).ShouldBe(0);
        TextFineTuneOptions.EncoderLayers(["encoder.layer.0.attention", "encoder.layer.x", "encoder.layer.12"]).ShouldBe(1);
    }

    [Fact]
    public void FrozenLayers_UpToTheModelsLayerCount_AreAccepted()
    {
        Validate(null).ShouldBeEmpty();
        Validate(new JsonObject { ["frozenLayers"] = 4, ["freezeEmbeddings"] = true, ["layerwiseDecay"] = 0.9 }).ShouldBeEmpty();
    }

    [Fact]
    public void FrozenLayers_BeyondTheModelsLayerCount_AreRefused_NamingTheLimitAndTheModel()
    {
        var e = Validate(new JsonObject { ["frozenLayers"] = 5 });
        e.Keys.ShouldBe(["Options.frozenLayers"]);
        e["Options.frozenLayers"].ShouldBe("Frozen encoder layers must be between 0 and 4: model 'bert_mlm.mini_house' has 4 encoder layers.");
        Validate(new JsonObject { ["frozenLayers"] = 2 }, TestStrategies.Bert)["Options.frozenLayers"].ShouldContain("between 0 and 1");
    }

    [Fact]
    public void LayerwiseDecay_DefaultsToOneRate_AndIsRefusedAboveOne()
    {
        StrategyOptionsReader.Read(TestStrategies.Catalog.Find("text-fine-tune")!, null).Options
            .ShouldBe(new TextFineTuneOptions { LayerwiseDecay = 1, FrozenLayers = 0, FreezeEmbeddings = false });
        Validate(new JsonObject { ["layerwiseDecay"] = 1.2 })["Options.layerwiseDecay"].ShouldBe("Layer-wise decay must be between 0.05 and 1; it is 1.2.");
    }

    [Fact]
    public void TextFineTune_IsOfferedForTextModelsOnly()
    {
        var d = TestStrategies.Catalog.Find("text-fine-tune")!;
        StrategyCatalog.For(TestStrategies.Catalog, TestStrategies.ResNet).ShouldNotContain(d);
        StrategyCatalog.For(TestStrategies.Catalog, FourLayers).ShouldContain(d);
        var image = new DatasetInfo { Id = "digits", Title = "Digits", ClassNames = ["0", "1"], ClassCounts = [9, 9] };
        Validate(null, TestStrategies.ResNet with { Id = "resnet18.tv_in1k" }, image)["Strategy"].ShouldContain("works on texts");
    }
}
