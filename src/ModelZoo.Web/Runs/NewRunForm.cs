using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Web.Runs;

/// <summary>
/// What the new-run form holds: the shared training settings as fields, and the chosen strategy's options as
/// values by name (the form is generated from the strategy's description, so a new strategy needs no field here).
/// </summary>
public sealed class NewRunForm
{
    static readonly HyperParameters Defaults = new();

    public string ModelId { get; set; } = "";
    public string DatasetId { get; set; } = "";
    public string? TargetDatasetId { get; set; }
    /// <summary>Further task datasets in order, for strategies with a <see cref="StrategyInfo.TaskDatasets"/> role.</summary>
    public List<string> TaskDatasetIds { get; } = [];
    /// <summary>The finished run learnt from, for strategies with a <see cref="StrategyInfo.SourceRun"/> role.</summary>
    public Guid? SourceRunId { get; set; }
    public string Strategy { get; set; } = "feature-extraction";
    /// <summary>The strategy's options by JSON name (int, double, bool, or a choice's name).</summary>
    public Dictionary<string, object?> Options { get; } = new(StringComparer.Ordinal);

    public int Epochs { get; set; } = Defaults.Epochs;
    public int BatchSize { get; set; } = Defaults.BatchSize;
    public double LearningRate { get; set; } = Defaults.LearningRate;
    public int Seed { get; set; } = Defaults.Seed;
    public int ImageSize { get; set; } = Defaults.ImageSize;
    public int MaxTokens { get; set; } = Defaults.MaxTokens;
    public int TrainLimit { get; set; }
    public int? LabelsPerClass { get; set; }
    public bool Augment { get; set; } = Defaults.Augment;
    /// <summary>The run's own augmentation profile instead of the dataset's.</summary>
    public bool OverrideAugmentation { get; set; }
    public bool Flip { get; set; }
    public double MinCropScale { get; set; } = 0.8;
    public double MaxRotation { get; set; }
    public double ColorJitter { get; set; } = 0.1;
    public OptimizerKind Optimizer { get; set; } = Defaults.Optimizer;
    /// <summary>Null: the optimiser's usual weight decay.</summary>
    public double? WeightDecay { get; set; }
    public double Momentum { get; set; } = Defaults.Momentum;
    public bool Nesterov { get; set; }
    public LearningRateSchedule Schedule { get; set; } = Defaults.Schedule;
    public double WarmupFraction { get; set; } = Defaults.WarmupFraction;
    public double LabelSmoothing { get; set; }
    public double GradientClipNorm { get; set; }
    public int EarlyStoppingPatience { get; set; }
    public ClassBalance ClassBalance { get; set; } = ClassBalance.None;
    public string? Name { get; set; }

    /// <summary>Starts the options at the strategy's defaults.</summary>
    public void ResetOptions(StrategyDescription? strategy)
    {
        Options.Clear();
        if (strategy is null) return;
        foreach (var o in strategy.Options) Options[o.Name] = o.Default;
    }

    /// <summary>Starts the augmentation override at the dataset's own profile, so the user edits from there.</summary>
    public void ResetAugmentation(DatasetInfo? dataset)
    {
        var p = dataset is null ? AugmentationProfile.Unknown : AugmentationProfile.For(dataset);
        Flip = p.HorizontalFlip; MinCropScale = p.MinCropScale; MaxRotation = p.MaxRotationDegrees; ColorJitter = p.ColorJitter;
    }

    internal static JsonNode? Json(object? v) => v switch
    {
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        bool b => JsonValue.Create(b),
        string s => JsonValue.Create(s),
        Enum e => JsonValue.Create(e.ToString()),
        _ => null,
    };

    public RunRequest ToRequest(StrategyDescription? strategy)
    {
        JsonObject? options = null;
        if (strategy is not null && strategy.Options.Count > 0)
        {
            options = new JsonObject();
            foreach (var o in strategy.Options)
                if (Options.TryGetValue(o.Name, out var v) && Json(v) is { } node) options[o.Name] = node;
        }
        return new RunRequest
        {
            ModelId = ModelId, DatasetId = DatasetId, Strategy = Strategy, Options = options, Name = Name,
            TargetDatasetId = strategy?.Info.NeedsTarget == true ? TargetDatasetId : null,
            // Only what the chosen strategy takes: a list left over from another strategy would be refused.
            TaskDatasetIds = strategy?.Info.TaskDatasets is not null ? TaskDatasetIds.ToList() : null,
            SourceRunId = strategy?.Info.SourceRun is not null ? SourceRunId : null,
            HyperParameters = new HyperParameters
            {
                Epochs = Epochs, BatchSize = BatchSize, LearningRate = LearningRate, Seed = Seed, ImageSize = ImageSize,
                MaxTokens = MaxTokens, TrainLimit = TrainLimit, LabelsPerClass = LabelsPerClass, Augment = Augment,
                Augmentation = OverrideAugmentation ? new AugmentationProfile(Flip, MinCropScale, MaxRotation, ColorJitter) : null,
                Optimizer = Optimizer, WeightDecay = WeightDecay, Momentum = Momentum, Nesterov = Nesterov, Schedule = Schedule,
                WarmupFraction = WarmupFraction, LabelSmoothing = LabelSmoothing, GradientClipNorm = GradientClipNorm,
                EarlyStoppingPatience = EarlyStoppingPatience, ClassBalance = ClassBalance,
            },
        };
    }
}
