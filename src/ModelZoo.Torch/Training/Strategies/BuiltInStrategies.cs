using ModelZoo.Core.Strategies;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>The table of strategies: one line each, its options record (Core) and its class (this folder).
/// Adding a strategy is a line here, the two types and their tests; no other project changes.</summary>
public static class BuiltInStrategies
{
    public static StrategyRegistry Register(StrategyRegistry r) => r
        .Add<ScratchOptions, ScratchStrategy>()
        .Add<FeatureExtractionOptions, FeatureExtractionStrategy>()
        .Add<PartialFineTuneOptions, PartialFineTuneStrategy>()
        .Add<FullFineTuneOptions, FullFineTuneStrategy>()
        .Add<SelfTrainingOptions, SelfTrainingStrategy>()
        .Add<DannOptions, DannStrategy>()
        .Add<AdaBnOptions, AdaBnStrategy>()
        .Add<FewShotPrototypesOptions, FewShotPrototypesStrategy>()
        .Add<PrototypicalEpisodesOptions, PrototypicalEpisodesStrategy>()
        .Add<TextFineTuneOptions, TextFineTuneStrategy>()
        .Add<MultitaskOptions, MultitaskStrategy>()
        .Add<ContinualOptions, ContinualStrategy>()
        .Add<DistillationOptions, DistillationStrategy>()
        .Add<PruneOptions, PruneStrategy>();
}
