using System.Text.Json.Serialization;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Strategies;

/// <summary>What an option holds; the new-run form picks its input from this, the validator its type check.</summary>
public enum OptionKind
{
    Integer,
    Number,
    Boolean,
    /// <summary>One of <see cref="StrategyOption.Choices"/> (an enum, sent by member name).</summary>
    Choice,
    /// <summary>An integer count of backbone stages, 0 up to the model's own number; the form shows the model's
    /// stage names, the validator knows the model's limit.</summary>
    FrozenStages,
}

public sealed record OptionChoice(string Value, string Label);

/// <summary>One option of a strategy as scripts and the form see it: its JSON name, label, help, kind, default and
/// limits. Generated from the options record (<see cref="OptionAttribute"/>), never written twice.</summary>
public sealed record StrategyOption
{
    /// <summary>The JSON name in <c>RunRequest.Options</c> (camelCase of the record's property).</summary>
    public required string Name { get; init; }
    public required string Label { get; init; }
    public required string Help { get; init; }
    public required OptionKind Kind { get; init; }
    /// <summary>The value a run gets when the request leaves the option out.</summary>
    public required object Default { get; init; }
    public double? Min { get; init; }
    public double? Max { get; init; }
    public IReadOnlyList<OptionChoice> Choices { get; init; } = [];
}

/// <summary>A named value a strategy reports in its progress events besides the loop's own (loss, accuracy, learning
/// rate), so pages can label and chart it without knowing the strategy.</summary>
/// <param name="PerStep">Reported with every step (else with every epoch).</param>
public sealed record MetricInfo(string Name, string Label, bool PerStep, string? Help = null);

/// <summary>What a strategy says about itself, written once in its options record (<see cref="IStrategyDefinition{TSelf}"/>).</summary>
public sealed record StrategyInfo
{
    /// <summary>Stable id in requests and URLs (kebab-case).</summary>
    public required string Id { get; init; }
    public required string Title { get; init; }
    /// <summary>One sentence for lists and the form's select.</summary>
    public required string Summary { get; init; }
    /// <summary>What it does and when it helps, for the form and the card (plain text, may span sentences).</summary>
    public required string Explanation { get; init; }
    /// <summary>Position in lists (smaller first): strategies are shown in the order a user would try them.</summary>
    public int Order { get; init; } = 100;
    public IReadOnlyList<DatasetModality> Modalities { get; init; } = [DatasetModality.Image, DatasetModality.Text];
    /// <summary>Besides the labelled dataset, a target dataset whose training split is used without labels.</summary>
    public bool NeedsTarget { get; init; }
    /// <summary>Besides the run's dataset, further labelled datasets as tasks of their own (multitask, continual
    /// learning), as <c>RunRequest.TaskDatasetIds</c>; null: the strategy takes none.</summary>
    public TaskDatasetsRole? TaskDatasets { get; init; }
    /// <summary>A finished run's trained model the strategy learns from (a teacher), as <c>RunRequest.SourceRunId</c>;
    /// null: the strategy takes none.</summary>
    public SourceRunRole? SourceRun { get; init; }
    /// <summary>Only for models that have BatchNorm layers (AdaBN): others are refused with the reason.</summary>
    public bool RequiresBatchNorm { get; init; }
    /// <summary>False for strategies with no gradient training (prototypes): the form then hides the optimiser.</summary>
    public bool Trains { get; init; } = true;
    /// <summary>False for the scratch baseline: the model starts from its random initialisation on purpose.</summary>
    public bool UsesPretrainedWeights { get; init; } = true;
    /// <summary>Named values the strategy adds to the progress events.</summary>
    public IReadOnlyList<MetricInfo> Metrics { get; init; } = [];
    /// <summary>Older names that still resolve to this strategy (runs stored before strategies had ids).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
}

/// <summary>How many further labelled datasets a strategy takes besides the run's own, and what the form calls them.</summary>
/// <param name="Ordered">The order matters (continual learning learns them in order).</param>
public sealed record TaskDatasetsRole(int Min, int Max, string Label, string Help, bool Ordered = false);

/// <summary>What a strategy calls the finished run it learns from, and what it needs of it.</summary>
/// <param name="SameClasses">The source run's classes must be the run's dataset's classes, in the same order.</param>
public sealed record SourceRunRole(string Label, string Help, bool SameClasses = true);

/// <summary>
/// A strategy as the portal shows and validates it: its <see cref="StrategyInfo"/> plus the options of its options
/// record. <c>GET /api/strategies</c> serves these; the new-run form, the API's validation and the card's strategy
/// section are generated from them.
/// </summary>
public sealed record StrategyDescription
{
    public required StrategyInfo Info { get; init; }
    public required IReadOnlyList<StrategyOption> Options { get; init; }
    /// <summary>The options record, read from a request with <see cref="StrategyOptionsReader"/>.</summary>
    [JsonIgnore] public Type OptionsType { get; init; } = typeof(StrategyOptions);

    public string Id => Info.Id;
    public string Title => Info.Title;

    public bool Fits(DatasetModality modality) => Info.Modalities.Contains(modality);

    /// <summary>The description of an options record: its info, and one option per property marked <see cref="OptionAttribute"/>,
    /// with the defaults of a fresh instance.</summary>
    public static StrategyDescription Of<TOptions>() where TOptions : StrategyOptions, IStrategyDefinition<TOptions>, new() =>
        new() { Info = TOptions.Info, Options = StrategyOptionsReader.Describe(typeof(TOptions)), OptionsType = typeof(TOptions) };
}
