using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Strategies;

/// <summary>Adaptive BatchNorm (Li et al. 2016): train on the source, then measure every BatchNorm layer's statistics
/// again on the unlabelled target, without changing a weight.</summary>
public sealed record AdaBnOptions : StrategyOptions, IStrategyDefinition<AdaBnOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "adabn",
        Title = "Adaptive BatchNorm (AdaBN)",
        Order = 60,
        Summary = "Trains on the labelled source, then re-measures every BatchNorm layer's statistics on the unlabelled target; no weight changes.",
        Explanation =
            "Adaptive BatchNorm (Li et al., 2016) rests on the observation that a network's weights hold what it knows about the " +
            "classes, while its BatchNorm statistics hold what it knows about the domain. The model first trains on the labelled " +
            "source like a full fine-tune: every layer, with layer-wise rates, and the epoch with the best source validation accuracy " +
            "is kept (source labels only). Then, without a single gradient step, every BatchNorm layer's running mean and variance " +
            "are measured again on the target's training split, whose labels are hidden: the statistics are reset, the network runs " +
            "in inference mode except its BatchNorm layers, under no_grad, over the target images prepared as for testing (no " +
            "augmentation), and each layer's mean and variance are computed exactly over all of those images (a running sum, not a " +
            "moving average). Weights, biases and BatchNorm scales stay as trained and dropout stays off. The test results are on the " +
            "target's test split, and the facts give the target test accuracy before the re-estimation (the source-only model) and " +
            "after, so one run shows what the statistics alone were worth. It helps when the domains differ in low-level statistics " +
            "(brightness, contrast, colour, another sensor) and cannot help when the classes themselves look different. It needs a " +
            "model with BatchNorm layers.",
        Modalities = [DatasetModality.Image],
        NeedsTarget = true,
        RequiresBatchNorm = true,
    };

    [Option("Layer-wise decay", "While training on the source: each earlier stage learns at this multiple of the next stage's rate (1: one rate for all).", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 0.7;

    [Option("Target images for the statistics", "How many of the target's training images the BatchNorm statistics are measured on: 0 uses all of them, a smaller number a seeded sample. A few thousand are usually enough; at least 2.", Min = 0, Max = 1_000_000)]
    public int StatisticsExamples { get; init; }

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        if (StatisticsExamples == 1)
            yield return OptionProblem.Option("statisticsExamples",
                "Target images for the statistics must be 0 (all) or at least 2: a variance needs two images.");
        foreach (var p in TargetDomain.Problems(context, Info.Title, minimum: 2)) yield return p;
    }
}
