using System.Globalization;
using System.Text.Json.Nodes;

namespace ModelZoo.Core.Runs.Compare;

/// <summary>One run in a comparison: what it is (model, strategy, budget, seed) and what it reached.</summary>
public sealed record ComparisonRow
{
    public Guid Id { get; init; }
    public string Name { get; init; } = "";
    public string ModelId { get; init; } = "";
    public string DatasetId { get; init; } = "";
    public string Strategy { get; init; } = "";
    public RunStatus Status { get; init; }
    public int Seed { get; init; }
    public int? LabelsPerClass { get; init; }
    /// <summary>As the run recorded it (its strategy's fact), else the requested stage count; null when not applicable.</summary>
    public string? FrozenStages { get; init; }
    public long? TrainableParameters { get; init; }
    public long? TotalParameters { get; init; }
    /// <summary>Training seconds: the result's when finished, else the latest step's elapsed time.</summary>
    public double? WallSeconds { get; init; }
    public double? TestAccuracy { get; init; }
    /// <summary>Each task's test accuracy, for runs with several tasks (multitask, continual); empty otherwise.</summary>
    public IReadOnlyList<TaskAccuracy> Tasks { get; init; } = [];
    /// <summary>For a run that learnt from a teacher (distillation): the teacher beside the student, as the run measured
    /// them on the same test split and in the same latency loop; null otherwise.</summary>
    public TeacherComparison? Teacher { get; init; }
    /// <summary>Per-epoch metrics by name, in <see cref="RunComparison.Metrics"/> order.</summary>
    public IReadOnlyDictionary<string, MetricSummary> Metrics { get; init; } = new Dictionary<string, MetricSummary>();

    public MetricSummary Metric(string name) => Metrics.TryGetValue(name, out var m) ? m : MetricSummary.Empty;
}

/// <summary>One task's test accuracy in a comparison row.</summary>
public sealed record TaskAccuracy(string DatasetId, double TestAccuracy);

/// <summary>
/// The comparison table of several runs, built only from what each run recorded (its view and its event stream), so
/// the page, the API and its CSV/Markdown exports agree.
/// </summary>
public sealed record RunComparison(IReadOnlyList<ComparisonRow> Rows, IReadOnlyList<string> Metrics)
{
    /// <summary>The loop's own epoch values first, in a reader's order, then the strategies' own alphabetically.</summary>
    static readonly string[] LoopMetrics = [MetricNames.ValAccuracy, MetricNames.ValLoss, MetricNames.TrainAccuracy, MetricNames.TrainLoss];

    /// <summary>Whether any run has several tasks: only then do the page and the exports add a tasks column.</summary>
    public bool HasTasks => Rows.Any(r => r.Tasks.Count > 0);

    /// <summary>Whether any run learnt from a teacher: only then do the page and the exports add the teacher columns.</summary>
    public bool HasTeacher => Rows.Any(r => r.Teacher is not null);

    public static RunComparison Build(IEnumerable<(RunView Run, RunCurves Curves)> runs)
    {
        var list = runs.ToList();
        var names = list.SelectMany(r => r.Curves.EpochNames).Distinct(StringComparer.Ordinal).ToList();
        var metrics = LoopMetrics.Where(names.Contains).Concat(names.Except(LoopMetrics).Order(StringComparer.Ordinal)).ToList();
        var rows = list.Select(r => Row(r.Run, r.Curves, metrics)).ToList();
        return new RunComparison(rows, metrics);
    }

    static ComparisonRow Row(RunView run, RunCurves curves, IReadOnlyList<string> metrics)
    {
        var result = run.Result;
        return new ComparisonRow
        {
            Id = run.Id,
            Name = run.Name ?? $"{run.ModelId} on {run.DatasetId}",
            ModelId = run.ModelId,
            DatasetId = run.DatasetId,
            Strategy = run.Strategy,
            // A live status can be ahead of the stored view (the page keeps applying events); a stored final one is final.
            Status = run.Status.IsTerminal() ? run.Status : curves.Status ?? run.Status,
            Seed = run.Request.HyperParameters.Seed,
            LabelsPerClass = run.Request.HyperParameters.LabelsPerClass,
            FrozenStages = FrozenStagesOf(run),
            TrainableParameters = result?.TrainableParameters,
            TotalParameters = result?.TotalParameters,
            WallSeconds = result is not null && result.TrainSeconds > 0 ? result.TrainSeconds : curves.Elapsed,
            TestAccuracy = result?.TestAccuracy,
            Tasks = result?.Tasks.Select(t => new TaskAccuracy(t.DatasetId, t.TestAccuracy)).ToList() ?? [],
            Teacher = result?.Teacher,
            Metrics = metrics.ToDictionary(m => m, m => MetricSummary.Of(m, curves.EpochSeries(m)), StringComparer.Ordinal),
        };
    }

    static string? FrozenStagesOf(RunView run)
    {
        if (run.Result?.StrategyFacts.FirstOrDefault(f => f.Label.StartsWith("Frozen", StringComparison.Ordinal)) is { } fact)
            return fact.Value;
        return run.Request.Options?["frozenStages"] is JsonValue v && v.TryGetValue<int>(out var n)
            ? n.ToString(CultureInfo.InvariantCulture) : null;
    }
}
