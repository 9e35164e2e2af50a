using System.Text.Json.Nodes;

namespace ModelZoo.Core.Runs.Experiments;

/// <summary>One strategy arm of an experiment: a strategy id and its options (left out: the strategy's defaults).
/// The same strategy may appear twice with different options (two frozen depths), as two columns.</summary>
public sealed record StrategyChoice
{
    public string Id { get; init; } = "";
    public JsonObject? Options { get; init; }
}

/// <summary>
/// What a user asks for when launching an experiment grid (<c>POST /api/experiments</c> and the launch page alike):
/// every model × every strategy × every label budget × every seed on one dataset, with shared training settings.
/// </summary>
public sealed record ExperimentRequest
{
    public string? Name { get; init; }
    public string DatasetId { get; init; } = "";
    public IReadOnlyList<string> Models { get; init; } = [];
    public IReadOnlyList<StrategyChoice> Strategies { get; init; } = [];
    /// <summary>Each planned run's seed; a cell's mean and spread are over these.</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [1, 2, 3];
    /// <summary>Labelled training examples per class; empty or null: every label (one budget, "all").</summary>
    public IReadOnlyList<int>? LabelBudgets { get; init; }
    /// <summary>Shared by every run; its <c>Seed</c> and <c>LabelsPerClass</c> are replaced by each run's.</summary>
    public HyperParameters HyperParameters { get; init; } = new();
}
