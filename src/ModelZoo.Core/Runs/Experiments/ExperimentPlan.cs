using System.Text.Json.Nodes;

namespace ModelZoo.Core.Runs.Experiments;

/// <summary>A grid column: one strategy arm at one label budget (null: every label).</summary>
public sealed record GridColumn(int Strategy, string StrategyId, JsonObject? Options, int? LabelBudget, string Label);

/// <summary>One planned run: its place in the grid (row = model, column, seed) and the request that launches it.</summary>
public sealed record PlannedRun(string ModelId, int Column, int Seed, RunRequest Request);

/// <summary>
/// The cartesian product of an <see cref="ExperimentRequest"/>: models × strategies × label budgets × seeds, in that
/// nesting, so the queue trains one model's arms together and every seed of a cell back to back. Built from the
/// request alone; whether each run is valid for its model and data is <c>RunService.Check</c>'s job, at launch.
/// </summary>
public sealed record ExperimentPlan(IReadOnlyList<string> Models, IReadOnlyList<GridColumn> Columns, IReadOnlyList<PlannedRun> Runs)
{
    /// <summary>An experiment's ceiling: 200 runs of even a minute each keep one worker busy for over three hours, and
    /// a mistyped seed list should not fill the queue for a week.</summary>
    public const int MaxRuns = 200;

    /// <summary>The plan, or the request's errors keyed by field (<c>Models</c>, <c>Strategies[1].Id</c>, <c>Seeds</c>).</summary>
    public static ExperimentPlanResult Build(ExperimentRequest request)
    {
        var errors = new Dictionary<string, string>();
        if (string.IsNullOrWhiteSpace(request.DatasetId)) errors["DatasetId"] = "Choose a dataset.";
        var models = request.Models.Select(m => m?.Trim() ?? "").ToList();
        if (models.Count == 0) errors["Models"] = "Choose at least one model.";
        else if (models.Any(m => m.Length == 0)) errors["Models"] = "A model id is empty.";
        else if (Duplicate(models, out var dm)) errors["Models"] = $"Model '{dm}' is listed twice.";

        if (request.Strategies.Count == 0) errors["Strategies"] = "Choose at least one strategy.";
        for (int i = 0; i < request.Strategies.Count; i++)
            if (string.IsNullOrWhiteSpace(request.Strategies[i].Id)) errors[$"Strategies[{i}].Id"] = "Name a strategy.";
        // Two identical arms would be one column twice: the same runs, trained twice, under two labels.
        var arms = request.Strategies.Select(s => s.Id.Trim() + " " + (s.Options?.ToJsonString() ?? "{}")).ToList();
        if (!errors.Keys.Any(k => k.StartsWith("Strategies")) && Duplicate(arms, out var da))
            errors["Strategies"] = $"Strategy '{da.Split(' ')[0]}' is listed twice with the same options.";

        if (request.Seeds.Count == 0) errors["Seeds"] = "Give at least one seed.";
        else if (Duplicate(request.Seeds, out var ds)) errors["Seeds"] = $"Seed {ds} is listed twice: it would train the same run twice.";

        var budgets = request.LabelBudgets is { Count: > 0 } b ? b.Select(x => (int?)x).ToList() : [null];
        if (budgets.Any(x => x <= 0)) errors["LabelBudgets"] = "A label budget is a number of labelled examples per class, at least 1.";
        else if (Duplicate(budgets, out var db)) errors["LabelBudgets"] = $"Label budget {db} is listed twice.";

        var total = (long)models.Count * request.Strategies.Count * budgets.Count * request.Seeds.Count;
        if (total > MaxRuns)
            errors["Runs"] = $"{models.Count} models × {request.Strategies.Count} strategies × {budgets.Count} label budgets × " +
                             $"{request.Seeds.Count} seeds is {total} runs; an experiment holds at most {MaxRuns}.";
        if (errors.Count > 0) return new(null, errors);

        var columns = new List<GridColumn>();
        for (int s = 0; s < request.Strategies.Count; s++)
            foreach (var budget in budgets)
                columns.Add(new GridColumn(s, request.Strategies[s].Id.Trim(), request.Strategies[s].Options, budget,
                    ColumnLabel(request.Strategies[s], budget)));

        var name = string.IsNullOrWhiteSpace(request.Name) ? $"Experiment on {request.DatasetId}" : request.Name.Trim();
        var runs = new List<PlannedRun>();
        foreach (var model in models)
            for (int c = 0; c < columns.Count; c++)
                foreach (var seed in request.Seeds)
                {
                    var col = columns[c];
                    runs.Add(new PlannedRun(model, c, seed, new RunRequest
                    {
                        ModelId = model, DatasetId = request.DatasetId.Trim(), Strategy = col.StrategyId,
                        Options = col.Options?.DeepClone().AsObject(),
                        HyperParameters = request.HyperParameters with { Seed = seed, LabelsPerClass = col.LabelBudget },
                        Name = Cut($"{name}: {model} · {col.Label} · seed {seed}"),
                    }));
                }
        return new(new ExperimentPlan(models, columns, runs), errors);
    }

    /// <summary>"partial-fine-tune (frozenStages 2) · 10 per class": the strategy, the options the user set, the budget.</summary>
    static string ColumnLabel(StrategyChoice s, int? budget)
    {
        var label = s.Id.Trim();
        if (s.Options is { Count: > 0 } o) label += " (" + string.Join(", ", o.Select(kv => $"{kv.Key} {kv.Value?.ToJsonString().Trim('"')}")) + ")";
        return budget is { } b ? $"{label} · {b} per class" : label;
    }

    /// <summary>
    /// A run's errors as the experiment's fields: an error about the model is the model's, one about the strategy or
    /// its options is that arm's, one about the label budget or seed is that budget's or seed's; the rest (epochs,
    /// dataset) belong to the shared settings and keep their key. The message names the run it came from.
    /// </summary>
    public IReadOnlyDictionary<string, string> ErrorsOf(ExperimentRequest request, PlannedRun run, IReadOnlyDictionary<string, string> runErrors)
    {
        var errors = new Dictionary<string, string>();
        var column = Columns[run.Column];
        foreach (var (key, message) in runErrors)
        {
            var field = key switch
            {
                "ModelId" => $"Models[{Models.ToList().IndexOf(run.ModelId)}]",
                // A strategy that needs a second dataset (domain adaptation) has none in a grid: the arm is at fault.
                "Strategy" or "TargetDatasetId" => $"Strategies[{column.Strategy}].Id",
                _ when key.StartsWith("Options", StringComparison.Ordinal) => $"Strategies[{column.Strategy}].{key}",
                "HyperParameters.LabelsPerClass" when column.LabelBudget is { } b => $"LabelBudgets[{request.LabelBudgets!.ToList().IndexOf(b)}]",
                "HyperParameters.Seed" => $"Seeds[{request.Seeds.ToList().IndexOf(run.Seed)}]",
                _ => key,
            };
            errors.TryAdd(field, $"{message} ({run.ModelId}, {column.Label}, seed {run.Seed})");
        }
        return errors;
    }

    static bool Duplicate<T>(IEnumerable<T> items, out T duplicate)
    {
        var group = items.GroupBy(x => x).FirstOrDefault(g => g.Count() > 1);
        duplicate = group is null ? default! : group.Key;
        return group is not null;
    }

    static string Cut(string s) => s.Length <= 200 ? s : s[..200];
}

/// <summary>A plan, or why the request cannot be planned.</summary>
public sealed record ExperimentPlanResult(ExperimentPlan? Plan, IReadOnlyDictionary<string, string> Errors)
{
    public bool Ok => Plan is not null;
}
