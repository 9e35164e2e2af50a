namespace ModelZoo.Core.Strategies;

/// <summary>Nearest-prototype classification on a frozen backbone (Snell et al. 2017 at inference): k labelled
/// examples per class, no training.</summary>
public sealed record FewShotPrototypesOptions : StrategyOptions, IStrategyDefinition<FewShotPrototypesOptions>
{
    public const int MaxShots = 100;

    public static StrategyInfo Info { get; } = new()
    {
        Id = "few-shot-prototypes",
        Title = "Few-shot prototypes (no training)",
        Order = 15,
        Trains = false,
        Summary = "k labelled examples per class and a frozen backbone: each class is the mean of its examples' embeddings; results in seconds.",
        Explanation =
            "Prototypical networks (Snell et al. 2017) used at inference only, with no training at all. The run draws k examples of " +
            "each class from the training split (stratified, with the run's seed; the support set is recorded) and embeds them with " +
            "the frozen pretrained backbone in inference mode: the pooled features the classifier would see, scaled to unit length. " +
            "Each class's prototype is the mean of its examples' unit embeddings, and an example is classified by its cosine " +
            "similarity to the prototypes (so the mean's own length does not matter, as in Chen et al.'s Meta-Baseline). The logits " +
            "are the similarities times a fixed scale, which sets how confident the softmax is and therefore the calibration the run " +
            "reports; the predicted class never depends on it. Nothing learns, so the run takes as long as embedding the support, " +
            "validation and test examples once (and later runs on the same backbone and data reuse those embeddings). It needs " +
            "a backbone whose features already separate the classes: on data unlike the pretraining data, fine-tuning wins.",
    };

    [Option("Shots (k)", "Labelled examples per class that form its prototype (1 to 100; 1 and 5 are the usual few-shot settings). " +
        "Each class needs at least this many training examples, after the label budget.", Min = 1, Max = MaxShots)]
    public int Shots { get; init; } = 5;

    [Option("Logit scale", "Logits are the cosine similarities times this (1 to 100). It changes the softmax confidences and so the " +
        "calibration error, never the predicted class; 10 suits most backbones (cosine classifiers use 2 to 30).", Min = 1, Max = 100)]
    public double LogitScale { get; init; } = 10;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        var d = context.Dataset;
        var (counts, estimated) = d.TrainingClassCounts();
        if (counts.Count > 0)
        {
            var smallest = counts.Select((n, c) => (n, c)).MinBy(x => x.n);
            if (Shots > smallest.n)
            {
                var name = smallest.c < d.ClassNames.Count ? d.ClassNames[smallest.c] : $"#{smallest.c}";
                yield return OptionProblem.Option("shots",
                    $"Shots must be at most {smallest.n}: class '{name}' has {(estimated ? "about" : "only")} {smallest.n} training examples" +
                    $"{(estimated ? $" (estimated from dataset '{d.Id}''s split sizes)" : "")}.");
                yield break;
            }
        }
        if (context.Training.LabelsPerClass is > 0 and var budget && Shots > budget)
            yield return OptionProblem.Option("shots",
                $"Shots must be at most {budget}: the run's label budget keeps {budget} training examples per class.");
    }
}
