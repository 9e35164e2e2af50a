namespace ModelZoo.Core.Strategies;

/// <summary>Fine-tuning that also learns from the training examples the run leaves unlabelled, through the model's own
/// confident predictions (pseudo-labels, Lee 2013; the self-training of Xie et al.'s Noisy Student).</summary>
public sealed record SelfTrainingOptions : StrategyOptions, IStrategyDefinition<SelfTrainingOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "self-training",
        Title = "Self-training (pseudo-labels)",
        Order = 33,
        Modalities = [Datasets.DatasetModality.Image],
        Summary = "Fine-tunes on the labelled examples, then also on the unlabelled rest of the training split, labelled by the model's own confident predictions.",
        Explanation =
            "For small label budgets, where the training split holds many more examples than the run may see the labels of. The run " +
            "first fine-tunes on its labelled examples alone (partial fine-tuning at the chosen depth, layer-wise rates). Then, every " +
            "few epochs, the model predicts the training examples the label budget left out, in inference mode and without " +
            "augmentation, and keeps the predictions it is confident of (softmax at or above the threshold) as their pseudo-labels. " +
            "Each step after that adds, to the labelled batch's loss, the cross-entropy of an augmented batch of pseudo-labelled " +
            "examples towards their pseudo-labels (unconfident examples count for nothing), weighted by the unlabelled weight. " +
            "The labels of those examples are never read: the batches that carry them reach the strategy with each example's " +
            "index in place of its label. Augmentation makes the model agree with itself across views, which is what turns its " +
            "confident predictions into new knowledge (Xie et al. 2020, Sohn et al. 2020's FixMatch). It helps when the backbone " +
            "already separates most classes; when the model's confident predictions are wrong, it learns its own mistakes " +
            "(confirmation bias), so compare it with partial fine-tuning on the same budget.",
        Aliases = ["SelfTraining", "pseudo-labels"],
    };

    [Option("Frozen stages", "How many backbone stages, counted from the stem, keep their pretrained weights.", FrozenStages = true)]
    public int FrozenStages { get; init; } = 2;

    [Option("Layer-wise decay", "Each earlier stage learns at this multiple of the next stage's rate (1: one rate for all).", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 0.7;

    [Option("Labelled-only share", "Share of the epochs (rounded down) that train on the labelled examples alone before pseudo-labels are used (0 to 0.9, so at least one epoch uses them).", Min = 0, Max = 0.9)]
    public double LabelledOnlyShare { get; init; } = 0.3;

    [Option("Relabel every (epochs)", "Epochs between two pseudo-labellings of the unlabelled examples; each costs one inference pass over them.", Min = 1, Max = 1000)]
    public int RelabelEvery { get; init; } = 5;

    [Option("Confidence threshold", "A prediction becomes a pseudo-label only at or above this softmax probability (0.5 to 0.999).", Min = 0.5, Max = 0.999)]
    public double Threshold { get; init; } = 0.95;

    [Option("Unlabelled weight", "Weight of the pseudo-labelled batch's loss beside the labelled batch's (0.1 to 10).", Min = 0.1, Max = 10)]
    public double UnlabelledWeight { get; init; } = 1.0;

    [Option("Unlabelled examples", "At most this many of the unlabelled training examples (a seeded draw) are pseudo-labelled; 0 takes them all.", Min = 0, Max = 10_000_000)]
    public int MaxUnlabelled { get; init; } = 20_000;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        if (PartialFineTuneOptions.DepthProblem(context.Model, FrozenStages) is { } depth) yield return depth;
        var h = context.Training;
        if (h.LabelsPerClass is not > 0 && h.TrainLimit <= 0)
            yield return new OptionProblem("HyperParameters.LabelsPerClass",
                "Self-training learns from the training examples the run leaves unlabelled, and this run labels all of them: " +
                "set a label budget (labels per class) or a training limit, or choose partial fine-tuning.");
    }
}
