namespace ModelZoo.Core.Strategies;

/// <summary>Fine-tuning with the first stages of the backbone frozen, at a depth the user picks.</summary>
public sealed record PartialFineTuneOptions : StrategyOptions, IStrategyDefinition<PartialFineTuneOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "partial-fine-tune",
        Title = "Partial fine-tune (chosen depth)",
        Order = 20,
        Summary = "The first stages of the backbone stay frozen, the later stages and a new head train.",
        Explanation =
            "The backbone's first stages (stem first, as many as the frozen depth says) keep their pretrained weights, and their " +
            "BatchNorm layers stay in inference mode so their statistics remain the ones the weights were trained with. The later " +
            "stages and a new head train, with layer-wise learning rates: the head gets the base rate and each earlier stage the " +
            "rate of the stage after it times the decay. Early stages hold generic edges and textures that transfer almost " +
            "everywhere; freezing them saves compute and protects them from the large early gradients of a fresh head. A depth of " +
            "0 trains the whole backbone; the model's full depth trains only the head (like feature extraction, without the cache).",
        Aliases = ["PartialFineTune"],
    };

    [Option("Frozen stages", "How many backbone stages, counted from the stem, keep their pretrained weights.", FrozenStages = true)]
    public int FrozenStages { get; init; } = 2;

    [Option("Layer-wise decay", "Each earlier stage learns at this multiple of the next stage's rate (1: one rate for all).", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 0.7;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        if (DepthProblem(context.Model, FrozenStages) is { } problem) yield return problem;
    }

    /// <summary>A frozen depth beyond the model's backbone stages, named with the stages it has (every strategy with a
    /// <c>frozenStages</c> option checks it so).</summary>
    public static OptionProblem? DepthProblem(ModelFacts model, int frozenStages)
    {
        var stages = model.BackboneStages;
        return frozenStages > stages.Count
            ? OptionProblem.Option("frozenStages",
                $"Frozen stages must be between 0 and {stages.Count}: model '{model.Id}' has {stages.Count} backbone stages ({string.Join(", ", stages)}).")
            : null;
    }
}
