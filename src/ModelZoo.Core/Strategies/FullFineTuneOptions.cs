namespace ModelZoo.Core.Strategies;

public enum UnfreezingMode
{
    [Choice("Off: everything trains from the first step")] Off,
    [Choice("Head first, then everything (fastai's fine_tune)")] HeadFirst,
    [Choice("One more stage per epoch, from the top (ULMFiT)")] StageByStage,
}

/// <summary>Every layer trains, with discriminative (layer-wise) rates and optional gradual unfreezing.</summary>
public sealed record FullFineTuneOptions : StrategyOptions, IStrategyDefinition<FullFineTuneOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "full-fine-tune",
        Title = "Full fine-tune",
        Order = 30,
        Summary = "Every layer trains, the earlier ones more slowly; optionally the head first and the body after.",
        Explanation =
            "The pretrained backbone and a new head train together, in training mode (BatchNorm layers update their statistics, " +
            "dropout is on). Discriminative learning rates (ULMFiT, fastai) give the head the base rate and each earlier stage " +
            "the rate of the stage after it times the decay, so generic early features move little. With gradual unfreezing the " +
            "head trains alone first, with the body frozen, while its random weights would otherwise send large gradients into " +
            "the pretrained body; then the body joins, all at once (fastai's fine_tune) or one stage per epoch from the top " +
            "(ULMFiT). The run's schedule (warmup then cosine by default, or one-cycle) applies throughout.",
        Aliases = ["FullFineTune"],
    };

    [Option("Layer-wise decay", "Each earlier stage learns at this multiple of the next stage's rate (1: one rate for all).", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 0.7;

    [Option("Gradual unfreezing", "Train the head alone first, then the body.")]
    public UnfreezingMode Unfreezing { get; init; } = UnfreezingMode.Off;

    [Option("Head-only epochs", "With gradual unfreezing: epochs that train the head alone before the body starts to unfreeze.", Min = 1, Max = 100)]
    public int FrozenEpochs { get; init; } = 1;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        if (Unfreezing != UnfreezingMode.Off && FrozenEpochs >= context.Training.Epochs)
            yield return OptionProblem.Option("frozenEpochs",
                $"Head-only epochs must be fewer than the run's {context.Training.Epochs} epochs, or the body never trains.");
    }
}
