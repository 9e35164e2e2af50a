namespace ModelZoo.Core.Strategies;

/// <summary>Episodic training of a prototypical network (Snell et al. 2017) on the dataset's base classes, evaluated
/// in N-way K-shot episodes on novel classes the training never saw, against plain prototypes of the same backbone
/// before the training.</summary>
public sealed record PrototypicalEpisodesOptions : StrategyOptions, IStrategyDefinition<PrototypicalEpisodesOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "prototypical-episodes",
        Title = "Meta-learned few-shot (episodic prototypes)",
        Order = 16,
        Modalities = [Datasets.DatasetModality.Image],
        Summary = "Trains the backbone on N-way K-shot episodes of the base classes, then measures few-shot accuracy on classes it never saw, against plain prototypes of the untrained backbone.",
        Explanation =
            "Prototypical networks trained as Snell et al. (2017) did: episodically. A share of the dataset's classes, chosen from " +
            "the run's seed and recorded, are novel: no example of theirs is ever in a training step. Each step is an episode drawn " +
            "from the base classes' training examples (N classes, K support and Q query examples each, seeded by the run's seed, " +
            "the epoch and the step, so a resumed run replays the same episodes). The backbone embeds them; each class's " +
            "prototype is the re-normalised mean of its support embeddings, and the loss is the cross-entropy of the queries over " +
            "a fixed scale times their cosine similarity to the prototypes, the same score the few-shot evaluation and the " +
            "few-shot prototypes strategy use, so the training optimises exactly what is measured (squared Euclidean distance, " +
            "Snell's choice, would train a score the evaluation does not use). Only the backbone learns, at a fraction of the " +
            "run's learning rate; the classifier is not used. At the end, N-way 1-shot and K-shot episodes on the novel classes' " +
            "test examples are scored with the trained backbone and, on the very same episodes, with the pretrained backbone as " +
            "it was before training (plain prototypes): the card shows both with 95 % intervals. The run's ordinary test accuracy " +
            "and confusion matrix are nearest-prototype classification over all the dataset's classes, with K training examples " +
            "per class as each prototype's support (base and novel alike, the few-shot prototypes strategy's draw); the weights " +
            "tested are the last epoch's, since choosing an epoch by accuracy on the novel classes would let them steer the " +
            "training. Episodic training helps when the base classes teach features that transfer to the novel ones; it can " +
            "hurt when the pretrained features were already good for them and the base classes are few or unlike them.",
        Metrics =
        [
            new MetricInfo("episode_acc", "Episode query accuracy", PerStep: true, "Share of a training episode's queries nearest to their own class's prototype."),
            new MetricInfo("novel_1shot_acc", "Novel 1-shot (episodic)", PerStep: false, "Mean accuracy of the novel classes' 1-shot test episodes with this epoch's weights."),
            new MetricInfo("plain_1shot_acc", "Novel 1-shot (plain)", PerStep: false, "The same episodes with the pretrained backbone before training."),
            new MetricInfo("novel_kshot_acc", "Novel K-shot (episodic)", PerStep: false, "Mean accuracy of the novel classes' K-shot test episodes with this epoch's weights (K above 1)."),
            new MetricInfo("plain_kshot_acc", "Novel K-shot (plain)", PerStep: false, "The same episodes with the pretrained backbone before training."),
            new MetricInfo("gain_1shot", "Novel 1-shot gain", PerStep: false, "Episodic minus plain accuracy, averaged over the same 1-shot episodes (paired)."),
            new MetricInfo("gain_kshot", "Novel K-shot gain", PerStep: false, "Episodic minus plain accuracy, averaged over the same K-shot episodes (paired)."),
        ],
    };

    public const int MaxWays = 50, MaxShots = 50, MaxQueries = 100;

    [Option("Ways (N)", "Classes per episode, in training and in the evaluation (2 to 50; 5 is the usual setting). The base classes " +
        "and the novel classes must each hold at least this many.", Min = 2, Max = MaxWays)]
    public int Ways { get; init; } = 5;

    [Option("Shots (K)", "Support examples per class in a training episode, and the evaluation's K-shot setting beside 1-shot (1 to 50).", Min = 1, Max = MaxShots)]
    public int Shots { get; init; } = 5;

    [Option("Queries (Q)", "Query examples per class in every episode, training and evaluation (1 to 100). Every class needs K + Q " +
        "examples: in the training split for base classes, in the test split for novel ones.", Min = 1, Max = MaxQueries)]
    public int Queries { get; init; } = 10;

    [Option("Episodes per epoch", "Training episodes (steps) per epoch (1 to 10,000); the batch size does not apply, an episode is N·(K+Q) images.", Min = 1, Max = 10_000)]
    public int EpisodesPerEpoch { get; init; } = 100;

    [Option("Novel classes", "How many classes are held out of training and evaluated as novel (2 to 10,000), chosen with the run's " +
        "seed; the rest are the base classes episodes are drawn from.", Min = 2, Max = 10_000)]
    public int NovelClasses { get; init; } = 10;

    [Option("Test episodes", "Episodes of the novel-class evaluation for each of 1-shot and K-shot (100 to 10,000); the 95 % interval " +
        "shrinks with their square root (600 gives about ±1 point).", Min = 100, Max = 10_000)]
    public int TestEpisodes { get; init; } = 200;

    [Option("Backbone rate scale", "The backbone learns at this multiple of the run's learning rate (0.001 to 1): pretrained weights " +
        "need smaller steps than a new head.", Min = 0.001, Max = 1)]
    public double BackboneRateScale { get; init; } = 0.1;

    [Option("Logit scale", "Logits are the cosine similarities times this (1 to 100); it sets how sharp the episode's softmax is " +
        "during training. 10 is Chen et al.'s starting value.", Min = 1, Max = 100)]
    public double LogitScale { get; init; } = 10;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        var d = context.Dataset;
        var classes = d.ClassNames.Count;
        if (NovelClasses >= classes)
        {
            yield return OptionProblem.Option("novelClasses",
                $"Novel classes must be fewer than the dataset's {classes} classes: dataset '{d.Id}' would keep no base class to train on.");
            yield break;
        }
        if (Ways > NovelClasses)
            yield return OptionProblem.Option("ways",
                $"Ways must be at most {NovelClasses}: a {Ways}-way evaluation episode needs {Ways} novel classes and the run holds out {NovelClasses} (option 'novelClasses').");
        else if (Ways > classes - NovelClasses)
            yield return OptionProblem.Option("ways",
                $"Ways must be at most {classes - NovelClasses}: a {Ways}-way training episode needs {Ways} base classes, and dataset '{d.Id}' " +
                $"keeps {classes - NovelClasses} of its {classes} after {NovelClasses} novel ones.");

        var need = Shots + Queries;
        var (train, estimated) = d.TrainingClassCounts();
        // Which classes are novel depends on the seed, so every class must fit both roles.
        if (train.Count == classes && classes > 0)
        {
            var smallest = train.Select((n, c) => (n, c)).MinBy(x => x.n);
            if (need > smallest.n)
                yield return OptionProblem.Option("queries",
                    $"Shots plus queries must be at most {smallest.n}: a training episode takes {Shots} + {Queries} examples of a base class, and class " +
                    $"'{d.ClassNames[smallest.c]}' has {(estimated ? "about" : "only")} {smallest.n} training examples" +
                    $"{(estimated ? $" (estimated from dataset '{d.Id}''s split sizes)" : "")}. Lower 'shots' or 'queries'.");
            else if (d.ClassCounts.Count == classes && d.Splits.Validation + d.Splits.Test > 0)
            {
                // The test split's share of what the training split leaves; stratified splits differ by one at most,
                // a split by source (font families) more, so the run checks the real counts again when it starts.
                var testShare = (double)d.Splits.Test / (d.Splits.Validation + d.Splits.Test);
                var test = d.ClassCounts.Select((n, c) => (n: (int)Math.Floor((n - train[c]) * testShare), c)).MinBy(x => x.n);
                if (need > test.n)
                    yield return OptionProblem.Option("queries",
                        $"Shots plus queries must be at most {test.n}: an evaluation episode takes {Shots} + {Queries} test examples of a novel class, and " +
                        $"class '{d.ClassNames[test.c]}' has about {test.n} in dataset '{d.Id}''s test split. Lower 'shots' or 'queries'.");
            }
        }
        if (context.Training.LabelsPerClass is > 0 and var budget && need > budget)
            yield return OptionProblem.Option("queries",
                $"Shots plus queries must be at most {budget}: the run's label budget keeps {budget} training examples per class, and an episode takes {Shots} + {Queries}.");
    }
}
