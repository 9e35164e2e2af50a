namespace ModelZoo.Core.Runs.Compare;

/// <summary>A single-task run that a task of a multi-task run is set beside: same model, that task's dataset, the same
/// label budget and seed, and it succeeded.</summary>
public sealed record SingleTaskPeer(Guid RunId, string Strategy, double TestAccuracy, double MacroF1);

/// <summary>One task of a run with several tasks, with its single-task peer where one exists.</summary>
/// <param name="Index">1-based, in the run's task order (the run's own dataset is task 1).</param>
public sealed record TaskRow(int Index, TaskResult Result, SingleTaskPeer? Single)
{
    /// <summary>This run's test accuracy on the task minus the single-task run's; null without a peer.</summary>
    public double? Difference => Single is { } s ? Result.TestAccuracy - s.TestAccuracy : null;
}

/// <summary>
/// Sets each task of a multitask or continual run beside a single-task run of the same model on that task's dataset,
/// with the same label budget and seed (the question "did sharing help this task?"), and builds the accuracy matrix
/// of a continual run from its per-epoch <c>acc_t{i}</c> values while it trains. Only recorded runs are read; no run is
/// launched for the comparison.
/// </summary>
public static class TaskComparison
{
    /// <summary>The per-epoch value a continual strategy reports at the epoch a task ends: test accuracy on task
    /// <paramref name="task"/> (1-based) after the tasks so far.</summary>
    public static string AccuracyMetric(int task) => $"acc_t{task}";

    /// <summary>The run's task datasets in order: its own, then <c>TaskDatasetIds</c>.</summary>
    public static IReadOnlyList<string> TaskDatasets(RunView run) =>
        [run.DatasetId, .. run.Request.TaskDatasetIds ?? []];

    /// <summary>Whether <paramref name="candidate"/> can stand for a single-task run of <paramref name="run"/>'s model
    /// on <paramref name="datasetId"/>: it succeeded, learnt that dataset alone (no further tasks, no unlabelled target
    /// whose test split it would report), with the same model, label budget and seed.</summary>
    public static bool IsSingleTaskPeer(RunView run, RunView candidate, string datasetId) =>
        candidate.Id != run.Id
        && candidate.Status == RunStatus.Succeeded
        && candidate.Result is { Tasks.Count: 0 }
        && candidate.ModelId == run.ModelId
        && candidate.DatasetId == datasetId
        && candidate.TargetDatasetId is null
        && (candidate.Request.TaskDatasetIds?.Count ?? 0) == 0
        && candidate.Request.HyperParameters.LabelsPerClass == run.Request.HyperParameters.LabelsPerClass
        && candidate.Request.HyperParameters.Seed == run.Request.HyperParameters.Seed;

    /// <summary>The peers of each task dataset of <paramref name="run"/> among <paramref name="candidates"/>: the most
    /// recent fitting run per dataset (not the best one, which would flatter the single-task side by selection).</summary>
    public static IReadOnlyDictionary<string, SingleTaskPeer> Peers(RunView run, IEnumerable<RunView> candidates)
    {
        var peers = new Dictionary<string, SingleTaskPeer>(StringComparer.Ordinal);
        var list = candidates.ToList();
        foreach (var dataset in TaskDatasets(run).Distinct(StringComparer.Ordinal))
        {
            var peer = list.Where(c => IsSingleTaskPeer(run, c, dataset)).OrderByDescending(c => c.FinishedAt ?? c.CreatedAt).FirstOrDefault();
            if (peer?.Result is { } r) peers[dataset] = new SingleTaskPeer(peer.Id, peer.Strategy, r.TestAccuracy, r.MacroF1);
        }
        return peers;
    }

    /// <summary>The run's tasks as its result lists them, each with its peer where <paramref name="peers"/> has one.</summary>
    public static IReadOnlyList<TaskRow> Rows(RunResult result, IReadOnlyDictionary<string, SingleTaskPeer>? peers) =>
        result.Tasks.Select((t, i) => new TaskRow(i + 1, t, peers is not null && peers.TryGetValue(t.DatasetId, out var p) ? p : null)).ToList();

    /// <summary>
    /// The accuracy matrix as far as the run's recorded epochs fill it: one row per epoch that reported any
    /// <c>acc_t{i}</c> (a task ended there), in epoch order; cell i of a row is that epoch's <c>acc_t{i+1}</c>, null
    /// where it was not reported (a task not yet learnt). Null when no such value was recorded.
    /// </summary>
    public static AccuracyMatrix? FromCurves(RunCurves curves, IReadOnlyList<string> tasks)
    {
        var byEpoch = new SortedDictionary<int, double?[]>();
        int n = tasks.Count;
        for (int i = 0; i < n; i++)
            foreach (var p in curves.EpochSeries(AccuracyMetric(i + 1)))
            {
                var epoch = (int)Math.Round(p.Epoch);
                if (!byEpoch.TryGetValue(epoch, out var row)) byEpoch[epoch] = row = new double?[n];
                row[i] = p.Value;
            }
        if (byEpoch.Count == 0) return null;
        return new AccuracyMatrix(tasks, byEpoch.Values.Select(r => (IReadOnlyList<double?>)r).ToList());
    }
}
