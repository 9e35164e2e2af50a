using System.Collections.Concurrent;
using System.Globalization;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Plan;
using ModelZoo.Core.Strategies;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Torch.Training.Plan;

namespace ModelZoo.Infrastructure.Runs.Plan;

/// <summary>A plan, or the validation errors by field that a launch of the same request would answer.</summary>
public sealed record PlanResult(RunPlan? Plan, IReadOnlyDictionary<string, string> Errors)
{
    public bool Ok => Errors.Count == 0;
}

/// <summary>
/// The new-run page's and <c>POST /api/runs/plan</c>'s answer before launch: the request checked exactly as a launch
/// checks it (<see cref="RunService.Check"/>), the trainable map from the real model and strategy
/// (<see cref="TrainingPlanner"/>), and the launch linter's warnings. Stores nothing.
/// </summary>
public sealed class RunPlanner(RunService runs, ZooCatalog catalog, DatasetStore datasets, TrainingPlanner planner)
{
    // A form re-plans on every change, mostly to settings the map does not depend on (batch size, augmentation): the
    // maps are kept by what they depend on. Bounded, as the API lets anyone ask for many.
    readonly ConcurrentDictionary<string, TrainingMap> _maps = new(StringComparer.Ordinal);
    const int MaxMaps = 256;

    public PlanResult Plan(RunRequest request)
    {
        var check = runs.Check(request);
        if (!check.Ok) return new PlanResult(null, check.Errors);
        var manifest = catalog.ManifestOf(request.ModelId)!;
        var dataset = datasets.Find(request.DatasetId)!;
        var hasWeights = catalog.Find(manifest.Id)?.Weights.HasWeights() == true;
        // A checked request's further tasks exist and are ready; their class counts shape their heads.
        var tasks = (request.TaskDatasetIds ?? []).Select(id => datasets.Find(id)!).ToList();
        var strategy = check.Strategy!;
        // The options as the launch stores them: every option, defaults included, under the strategy's own id.
        request = request with { Strategy = strategy.Id, Options = StrategyOptionsReader.ToJson(check.Options!) };

        TrainingMap? map = null;
        string? unavailable = null;
        var h = request.HyperParameters;
        var key = string.Join('|', manifest.Id, strategy.Id, request.Options!.ToJsonString(), dataset.ClassNames.Count, h.Epochs,
            h.LearningRate.ToString("R", CultureInfo.InvariantCulture), hasWeights, string.IsNullOrWhiteSpace(request.TargetDatasetId),
            string.Join(',', tasks.Select(t => t.ClassNames.Count)));
        try
        {
            if (!_maps.TryGetValue(key, out map))
            {
                map = planner.Map(new PlanRequest(request, manifest, catalog.OptionsOf(manifest), dataset, hasWeights) { Tasks = tasks });
                if (_maps.Count >= MaxMaps) _maps.Clear();
                _maps[key] = map;
            }
        }
        // A strategy that cannot plan (one that reads data while it sets up) still gets the rules that need no map.
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or NotSupportedException)
        {
            unavailable = $"The trainable map is not available for {strategy.Title}: {e.Message}";
        }
        var warnings = LaunchLinter.Lint(new LintInput(request, manifest.Text is null ? manifest.Preprocessing.InputSize : null,
            hasWeights && strategy.Info.UsesPretrainedWeights, dataset, map));
        return new PlanResult(new RunPlan(map, unavailable, warnings), check.Errors);
    }
}
