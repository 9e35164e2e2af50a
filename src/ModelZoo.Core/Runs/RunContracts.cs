namespace ModelZoo.Core.Runs;

public enum RunStatus { Queued, Running, Succeeded, Failed, Cancelled }

public static class RunStatusExtensions
{
    public static bool IsTerminal(this RunStatus s) => s is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;
}

/// <summary>Hyper-parameters a user chooses for a run. Defaults are what a first run should use.</summary>
public sealed record HyperParameters
{
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public int Seed { get; init; } = 42;
    /// <summary>Side of the square input fed to the model. Small digits gain nothing from 224 px on a CPU.</summary>
    public int ImageSize { get; init; } = 64;
    /// <summary>Seeded training augmentations (random resized crop, flips where the dataset allows them, small
    /// rotation, colour jitter). On by default: every torchvision and timm fine-tuning recipe augments, and a few
    /// thousand images overfit quickly without it. Validation and test never augment.</summary>
    public bool Augment { get; init; } = true;
    /// <summary>Longest text in tokens for text models ([CLS] and [SEP] included); the model's own limit caps it.
    /// Batches are padded only to their longest text.</summary>
    public int MaxTokens { get; init; } = 128;
    /// <summary>Use at most this many training examples (0 = all): quick trials on a slow machine.</summary>
    public int TrainLimit { get; init; }
}

/// <summary>What a user asks for when launching a run (UI and REST API alike).</summary>
public sealed record RunRequest
{
    public string ModelId { get; init; } = "";
    public string DatasetId { get; init; } = "";
    public StrategyKind Strategy { get; init; } = StrategyKind.FeatureExtraction;
    public HyperParameters HyperParameters { get; init; } = new();
    public string? Name { get; init; }
}

/// <summary>Results a finished run stores and its model card quotes.</summary>
public sealed record RunResult
{
    public double TestAccuracy { get; init; }
    public double TestLoss { get; init; }
    public double BestValAccuracy { get; init; }
    public int BestEpoch { get; init; }
    public int TestExamples { get; init; }
    public int TrainExamples { get; init; }
    public int ValExamples { get; init; }
    public IReadOnlyList<string> ClassNames { get; init; } = [];
    public IReadOnlyList<double> PerClassAccuracy { get; init; } = [];
    /// <summary>Row = true class, column = predicted class.</summary>
    public IReadOnlyList<IReadOnlyList<int>> ConfusionMatrix { get; init; } = [];
    public double TrainSeconds { get; init; }
    public long TotalParameters { get; init; }
    public long TrainableParameters { get; init; }
    /// <summary>The architecture the run trained: the entry's own, or the classifier that shares its backbone (a
    /// masked-LM entry trains <c>bert</c>). Null in results stored before this was recorded.</summary>
    public string? TrainedArchitecture { get; init; }
    /// <summary>What loading the starting weights did (tensors copied, head or pooler initialised fresh, keys not
    /// used), as the importer reported it; empty when the run started from random weights.</summary>
    public IReadOnlyList<string> WeightsNotes { get; init; } = [];
    /// <summary>The fine-tuned model the run saved; null when it saved none (results stored before runs saved
    /// their weights).</summary>
    public TrainedWeights? TrainedWeights { get; init; }
}

/// <summary>
/// The weights file a succeeded run leaves: the trained model's whole state_dict (backbone and the run's new head,
/// under the reference key names) as F32 safetensors. Hash and size are recorded when it is written, so the card can
/// name them and a downloaded copy can be checked against the card.
/// </summary>
/// <param name="File">The file's name, in the run's folder and as downloaded.</param>
public sealed record TrainedWeights(string File, string Sha256, long Bytes);

public enum StrategyKind
{
    /// <summary>Frozen backbone (eval mode), a new linear head is the only thing trained.</summary>
    FeatureExtraction,
    /// <summary>Everything trains (train mode), with layer-wise learning-rate decay from the head down to the stem.</summary>
    FullFineTune,
    /// <summary>The earlier half of the backbone stages is frozen (eval mode); the later half and the head train with
    /// layer-wise learning-rate decay.</summary>
    PartialFineTune,
}

public static class StrategyDescriptions
{
    /// <summary>
    /// Layer-wise learning-rate decay for the fine-tuning strategies: the head gets the base learning rate and each
    /// earlier stage the rate times this factor per stage of distance from the head. 0.7 is a common choice in
    /// timm/BEiT-style fine-tuning: early stages hold generic features that need little change, and smaller steps
    /// there keep the pretrained weights from being destroyed by the large early gradients of a fresh head.
    /// </summary>
    public const double LayerwiseDecay = 0.7;

    static readonly string DecayText = LayerwiseDecay.ToString("0.0#", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The layer-wise decay a strategy applies, or null when it trains a single group.</summary>
    public static double? LayerwiseDecayOf(StrategyKind kind) =>
        kind is StrategyKind.FullFineTune or StrategyKind.PartialFineTune ? LayerwiseDecay : null;

    public static string Describe(StrategyKind kind) => kind switch
    {
        StrategyKind.FeatureExtraction =>
            "Feature extraction: the backbone is frozen (weights fixed; its BatchNorm statistics and dropout, where it has them, in inference mode) and only a new linear classifier is trained.",
        StrategyKind.FullFineTune =>
            "Full fine-tune: every layer trains in training mode (BatchNorm layers, where the model has them, update their statistics; dropout is on), " +
            $"with layer-wise learning-rate decay: the head uses the base learning rate and each earlier stage {DecayText}x the rate of the stage after it.",
        StrategyKind.PartialFineTune =>
            "Partial fine-tune: the earlier half of the backbone stages (stem first) is frozen, with weights fixed and their BatchNorm statistics and dropout, where they have them, in inference mode; " +
            "the later half of the backbone stages (rounded up, at least one) and a new head train, " +
            $"with layer-wise learning-rate decay ({DecayText}x per stage away from the head).",
        _ => kind.ToString(),
    };

    /// <summary>Describe, naming the stages of the model the run uses (from the model's parameter groups).</summary>
    public static string Describe(StrategyKind kind, IReadOnlyList<string> frozenStages, IReadOnlyList<string> trainedStages) =>
        kind == StrategyKind.PartialFineTune && trainedStages.Count > 0
            ? $"{Describe(kind)} Here, {JoinNames(trainedStages)} train; {(frozenStages.Count == 0 ? "nothing" : JoinNames(frozenStages))} {(frozenStages.Count == 1 ? "is" : "are")} frozen."
            : Describe(kind);

    static string JoinNames(IReadOnlyList<string> names) =>
        names.Count <= 1 ? string.Join("", names) : string.Join(", ", names.Take(names.Count - 1)) + " and " + names[^1];

    public static string Title(StrategyKind kind) => kind switch
    {
        StrategyKind.FeatureExtraction => "Feature extraction",
        StrategyKind.FullFineTune => "Full fine-tune",
        StrategyKind.PartialFineTune => "Partial fine-tune",
        _ => kind.ToString(),
    };
}

/// <summary>A run as the UI and the REST API show it.</summary>
public sealed record RunView
{
    public Guid Id { get; init; }
    public string? Name { get; init; }
    public string ModelId { get; init; } = "";
    public string DatasetId { get; init; } = "";
    public StrategyKind Strategy { get; init; }
    public RunStatus Status { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Device { get; init; }
    public string? Error { get; init; }
    public bool CancelRequested { get; init; }
    public RunRequest Request { get; init; } = new();
    public RunResult? Result { get; init; }
    public string? CardMarkdown { get; init; }
    /// <summary>1 = next to start; null when not queued.</summary>
    public int? QueuePosition { get; init; }
}
