using ModelZoo.Core.Datasets;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>The strategies whose descriptions live in Core, as the Torch registry registers them, plus model facts.</summary>
public static class TestStrategies
{
    public static readonly StrategyCatalog Catalog = new(
    [
        StrategyDescription.Of<ScratchOptions>(),
        StrategyDescription.Of<FeatureExtractionOptions>(),
        StrategyDescription.Of<PartialFineTuneOptions>(),
        StrategyDescription.Of<FullFineTuneOptions>(),
        StrategyDescription.Of<SelfTrainingOptions>(),
        StrategyDescription.Of<FewShotPrototypesOptions>(),
        StrategyDescription.Of<TextFineTuneOptions>(),
        StrategyDescription.Of<DannOptions>(),
        StrategyDescription.Of<AdaBnOptions>(),
        StrategyDescription.Of<MultitaskOptions>(),
        StrategyDescription.Of<ContinualOptions>(),
    ]);

    public static readonly ModelFacts ResNet = new("resnet18.tv_in1k", DatasetModality.Image, ["stem", "layer1", "layer2", "layer3", "layer4", "head"], HasBatchNorm: true);
    public static readonly ModelFacts Bert = new("bert.base_uncased_hf", DatasetModality.Text, ["embeddings", "encoder.layer.0", "pooler", "head"], HasBatchNorm: false);
    /// <summary>An image model without BatchNorm (layer norms only), as a vision transformer is.</summary>
    public static readonly ModelFacts Vit = new("vit.tiny", DatasetModality.Image, ["embed", "blocks", "head"], HasBatchNorm: false);
}
