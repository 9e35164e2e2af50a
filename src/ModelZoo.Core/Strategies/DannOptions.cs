using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Strategies;

/// <summary>Domain-adversarial training (Ganin &amp; Lempitsky 2015): a domain classifier behind a gradient-reversal layer
/// pushes the backbone towards features that do not reveal whether an image came from the source or the target.</summary>
public sealed record DannOptions : StrategyOptions, IStrategyDefinition<DannOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "dann",
        Title = "Domain-adversarial training (DANN)",
        Order = 50,
        Summary = "Learns from the labelled source while a domain classifier, fought through reversed gradients, makes source and target features alike.",
        Explanation =
            "Domain-adversarial training (Ganin & Lempitsky, 2015) adapts to a target domain whose training images have no labels. " +
            "Each step takes a labelled source batch and an equally large batch of the target's training split (both augmented as the " +
            "run says) through the backbone together, so BatchNorm normalises them with common statistics. The loss is the source's " +
            "cross-entropy plus a domain loss: a small domain classifier (Linear, ReLU, Dropout, Linear on the pooled features) learns " +
            "to tell source (0) from target (1) by binary cross-entropy. Between the features and the domain classifier sits a " +
            "gradient-reversal layer: it passes the features unchanged forward and multiplies the gradient by -λ backward, so the " +
            "domain classifier learns to tell the domains apart while the backbone learns to confuse it. λ rises from 0 to its maximum " +
            "along 2/(1+exp(-10p))-1, p being the share of training done, so the adversary pushes only once the features carry class " +
            "information. The whole network trains: backbone and head with layer-wise rates as in full fine-tuning, the domain " +
            "classifier at the base rate. The target's labels serve evaluation only: its training labels are hidden before any " +
            "training code sees them and no loss ever reads a target label. Each epoch reports the target's validation accuracy for " +
            "monitoring, but it never chooses weights or stops training, since choosing with target labels would be learning from " +
            "them; the last epoch's weights are tested. The epoch's validation loss and accuracy (and early stopping, if set) are the " +
            "labelled source's; the test results are on the target's test split, because accuracy on the target is the point of the " +
            "run. A domain accuracy near 0.5 means the features no longer reveal the domain. Helps when the domains share classes " +
            "but differ in appearance (digits from another scanner, fonts versus handwriting). It can hurt when they share little, " +
            "or when the shift makes one class of the target look like another class of the source: aligning the two distributions " +
            "then pairs the wrong classes.",
        Modalities = [DatasetModality.Image],
        NeedsTarget = true,
        Metrics =
        [
            new("domain_loss", "Domain loss", PerStep: true,
                "The domain classifier's binary cross-entropy on the step's source and target features; ln 2 (0.69) when it cannot tell them apart."),
            new("lambda", "λ (gradient reversal)", PerStep: true,
                "The reversed gradient's weight at this step: 0 at the start, rising to the maximum along 2/(1+exp(-10p))-1."),
            new("domain_acc", "Domain accuracy", PerStep: true,
                "Share of the step's source and target examples the domain classifier assigns to the right domain; 0.5 means the features hide the domain."),
            new("target_val_acc", "Target validation accuracy", PerStep: false,
                "Accuracy on the target's validation split, for monitoring only: it never chooses the weights or stops training."),
        ],
    };

    [Option("Maximum λ", "Largest weight of the reversed gradient, reached at the end of training; 0 turns the adversary off (the domain classifier still learns, the backbone ignores it). Typical: 0.1 to 1.", Min = 0, Max = 10)]
    public double MaxLambda { get; init; } = 1.0;

    [Option("Domain classifier width", "Hidden units of the domain classifier (Linear, ReLU, Dropout, Linear on the pooled features). Typical: 256 to 1024; a wider one tells the domains apart more easily.", Min = 8, Max = 4096)]
    public int HiddenWidth { get; init; } = 256;

    [Option("Domain classifier dropout", "Dropout before the domain classifier's last layer, so it cannot win by memorising single examples. Typical: 0.5.", Min = 0, Max = 0.9)]
    public double DomainDropout { get; init; } = 0.5;

    [Option("Layer-wise decay", "Each earlier stage of the backbone learns at this multiple of the next stage's rate (1: one rate for all); the head and the domain classifier get the base rate.", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 0.7;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context) => TargetDomain.Problems(context, Info.Title, minimum: 1);
}
