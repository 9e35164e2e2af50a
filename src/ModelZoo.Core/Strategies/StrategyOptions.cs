using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Strategies;

/// <summary>
/// A strategy's own settings, as one record per strategy (the loop's settings, shared by all, are
/// <see cref="HyperParameters"/>). Properties marked <see cref="OptionAttribute"/> are the options; their initial
/// values are the defaults. Limits written in the attribute are checked for every strategy alike; what depends on the
/// model or the data (a depth beyond the model's stages, k shots beyond the smallest class) goes in <see cref="Check"/>.
/// </summary>
public abstract record StrategyOptions
{
    /// <summary>Checks that need the run's model and data. Each problem names its option (the JSON name) or, for
    /// the data, <c>DatasetId</c> / <c>TargetDatasetId</c> / <c>ModelId</c>.</summary>
    public virtual IEnumerable<OptionProblem> Check(StrategyCheckContext context) => [];
}

/// <summary>Ties an options record to what it describes, so registration reads both from one type.</summary>
public interface IStrategyDefinition<TSelf> where TSelf : StrategyOptions, IStrategyDefinition<TSelf>, new()
{
    static abstract StrategyInfo Info { get; }
}

/// <summary>Marks a property of an options record as an option, with what the form and the API say about it.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OptionAttribute(string label, string help) : Attribute
{
    public string Label => label;
    public string Help => help;
    /// <summary>Inclusive lower limit (NaN: none).</summary>
    public double Min { get; set; } = double.NaN;
    /// <summary>Inclusive upper limit (NaN: none).</summary>
    public double Max { get; set; } = double.NaN;
    /// <summary>An integer that counts backbone stages (0 up to the model's number), shown with the stage names.</summary>
    public bool FrozenStages { get; set; }
}

/// <summary>Labels an enum member for the form's select (the member's name is what requests send).</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class ChoiceAttribute(string label) : Attribute
{
    public string Label => label;
}

/// <summary>A refused option or input, keyed as the form shows it (<c>Options.frozenStages</c>, <c>TargetDatasetId</c>).</summary>
public sealed record OptionProblem(string Field, string Message)
{
    /// <summary>A problem with the option of this JSON name.</summary>
    public static OptionProblem Option(string name, string message) => new($"Options.{name}", message);
}

/// <summary>What an options record may look at when it checks itself against the run.</summary>
public sealed record StrategyCheckContext(ModelFacts Model, DatasetInfo Dataset, DatasetInfo? Target, HyperParameters Training)
{
    /// <summary>The further task datasets (<c>RunRequest.TaskDatasetIds</c>), in order; empty when the run has none.</summary>
    public IReadOnlyList<DatasetInfo> Tasks { get; init; } = [];
    /// <summary>The finished run the strategy learns from (<c>RunRequest.SourceRunId</c>); null when it has none.</summary>
    public SourceRunFacts? SourceRun { get; init; }
}

/// <summary>What launch checks may know of a source run: its status, model, data and classes, without loading it.</summary>
public sealed record SourceRunFacts(Guid Id, RunStatus Status, string ModelId, string DatasetId, string Strategy,
    IReadOnlyList<string> ClassNames, long? TotalParameters, bool HasWeights)
{
    /// <summary>The catalogue facts of the entry the run was trained from (its input preprocessing or tokenizer);
    /// null when the entry has left the catalogue.</summary>
    public ModelFacts? Model { get; init; }
    /// <summary>The run's <c>HyperParameters.ImageSize</c> (0: its model's own input size): the size its model was trained to read.</summary>
    public int ImageSize { get; init; }
    /// <summary>The run's test accuracy as it recorded it; null when it has no result.</summary>
    public double? TestAccuracy { get; init; }
}

/// <summary>
/// Facts of a catalogue entry's trainable model that strategies need before anything is built: what it reads, its
/// named stages (stem first, head last, as the model's parameter groups) and whether it has BatchNorm layers.
/// Computed from the real module on the meta device by the catalogue.
/// </summary>
public sealed record ModelFacts(string Id, DatasetModality Modality, IReadOnlyList<string> Stages, bool HasBatchNorm)
{
    /// <summary>An image model's input preprocessing (its manifest's); null for text models or where unknown.</summary>
    public Catalog.Preprocessing? Preprocessing { get; init; }
    /// <summary>A text model's tokenizer as one comparable string (its vocabulary's sha256 and casing); null for image
    /// models or where the vocabulary is not on this machine.</summary>
    public string? Tokenizer { get; init; }

    /// <summary>The stages before the head: what a frozen depth counts.</summary>
    public IReadOnlyList<string> BackboneStages => Stages.Count == 0 ? [] : Stages.Take(Stages.Count - 1).ToList();
}
