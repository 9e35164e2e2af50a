using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Compare;

namespace ModelZoo.Infrastructure.Runs.Compare;

/// <summary>The runs of a comparison that exist, each with its curves from its recorded events, and the ids that
/// name no run.</summary>
public sealed record ComparedRuns(IReadOnlyList<(RunView Run, RunCurves Curves)> Runs, IReadOnlyList<Guid> Missing)
{
    public RunComparison Table() => RunComparison.Build(Runs);
}

/// <summary>Loads runs and their recorded histories for the compare page and <c>GET /api/runs/compare</c>.</summary>
public sealed class RunCompareService(RunService runs)
{
    public async Task<ComparedRuns> LoadAsync(IReadOnlyList<Guid> ids, CancellationToken ct = default)
    {
        var found = new List<(RunView, RunCurves)>();
        var missing = new List<Guid>();
        foreach (var id in ids)
        {
            if (await runs.GetAsync(id, ct) is { } run) found.Add((run, RunCurves.From(await runs.EventsAsync(id, 0, ct))));
            else missing.Add(id);
        }
        return new ComparedRuns(found, missing);
    }

    /// <summary>For a run with several tasks: each task dataset's single-task peer (same model, budget and seed,
    /// succeeded) where one exists; empty for a single-task run.</summary>
    public async Task<IReadOnlyDictionary<string, SingleTaskPeer>> TaskPeersAsync(RunView run, CancellationToken ct = default)
    {
        var datasets = TaskComparison.TaskDatasets(run);
        if (datasets.Count < 2 && run.Result is not { Tasks.Count: > 0 }) return new Dictionary<string, SingleTaskPeer>();
        var candidates = await runs.SucceededRunsOfAsync(run.ModelId, datasets, run.Request.HyperParameters.LabelsPerClass, ct);
        return TaskComparison.Peers(run, candidates);
    }
}
