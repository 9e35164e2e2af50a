namespace ModelZoo.Core.Strategies;

/// <summary>Linear probe on a frozen backbone, with the backbone's features computed once and cached on disk.</summary>
public sealed record FeatureExtractionOptions : StrategyOptions, IStrategyDefinition<FeatureExtractionOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "feature-extraction",
        Title = "Feature extraction",
        Order = 10,
        Summary = "Frozen backbone, a new linear classifier trained on its cached features: fast, and hard to overfit.",
        Explanation =
            "The pretrained backbone is frozen: its weights never change and its BatchNorm statistics and dropout, where it has them, " +
            "stay in inference mode, so each example's pooled features are exactly what the weights define. The backbone therefore " +
            "runs once per example: the features are cached on disk, keyed by the weights' sha256, the dataset's content and the " +
            "preprocessing, and a new linear classifier trains on the cache, which takes seconds. A later run on the same backbone " +
            "and data reuses the cache and says so. With augmentation on, the training images differ every epoch, so their features " +
            "are computed at every step instead (validation and test still come from the cache). Works best when the pretraining " +
            "data resembles the target; when it does not, fine-tuning usually wins.",
        Aliases = ["FeatureExtraction"],
    };
}
