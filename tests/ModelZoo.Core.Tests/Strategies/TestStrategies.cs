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
        StrategyDescription.Of<FewShotPrototypesOptions>(),
        StrategyDescription.Of<TextFineTuneOptions>(),
        StrategyDescription.Of<AdaBnStandIn>(),
    ]);

    public static readonly ModelFacts ResNet = new("resnet18.tv_in1k", DatasetModality.Image, ["stem", "layer1", "layer2", "layer3", "layer4", "head"], HasBatchNorm: true);
    public static readonly ModelFacts Bert = new("bert.base_uncased_hf", DatasetModality.Text, ["embeddings", "encoder.layer.0", "pooler", "head"], HasBatchNorm: false);

    /// <summary>A strategy that needs BatchNorm and a target, for the catalogue's and the validator's rules.</summary>
    public sealed record AdaBnStandIn : StrategyOptions, IStrategyDefinition<AdaBnStandIn>
    {
        public static StrategyInfo Info { get; } = new()
        {
            Id = "bn-stand-in", Title = "BN stand-in", Summary = "s", Explanation = "e", Order = 200,
            Modalities = [DatasetModality.Image], NeedsTarget = true, RequiresBatchNorm = true,
        };
    }
}
