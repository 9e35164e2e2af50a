using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>
/// What a run leaves on disk: <c>&lt;DataDir&gt;/runs/&lt;id&gt;/</c>, holding the trained weights of a succeeded run.
/// Only a succeeded run keeps its folder; the worker discards it for every other ending, so a failed or cancelled
/// run, or the temp file of a write a crash interrupted, never passes for a result.
/// </summary>
public sealed class RunOutputs(ZooPaths paths)
{
    public string DirOf(Guid runId) => Path.Combine(paths.RunsDir, runId.ToString());

    /// <summary>The weights file's name: the run's id, so a downloaded copy still says which run made it.</summary>
    public static string WeightsFileNameOf(Guid runId) => $"run-{runId:N}.safetensors";

    /// <summary>A fresh, empty folder for the run (leftovers of an earlier attempt removed).</summary>
    internal string Prepare(Guid runId)
    {
        Discard(runId);
        return Directory.CreateDirectory(DirOf(runId)).FullName;
    }

    /// <summary>The run's folder as it is, for a run that resumes from its checkpoint there.</summary>
    internal string Existing(Guid runId) => Directory.CreateDirectory(DirOf(runId)).FullName;

    /// <summary>A succeeded run keeps its weights file only: its checkpoint and best-epoch copy served the training.</summary>
    internal void Tidy(Guid runId)
    {
        var dir = DirOf(runId);
        foreach (var d in new[] { CheckpointFiles.Directory, CheckpointFiles.Directory + ".old", CheckpointFiles.Directory + ".new" })
            if (Directory.Exists(Path.Combine(dir, d))) Directory.Delete(Path.Combine(dir, d), recursive: true);
        var best = Path.Combine(dir, CheckpointFiles.Best);
        if (File.Exists(best)) File.Delete(best);
    }

    /// <summary>The run's checkpoint folder, or null when it has none.</summary>
    public string? CheckpointOf(Guid runId) => Directory.Exists(DirOf(runId)) ? CheckpointFiles.Find(DirOf(runId)) : null;

    /// <summary>Removes the run's folder and everything in it; nothing to do when there is none.</summary>
    internal void Discard(Guid runId)
    {
        var dir = DirOf(runId);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// The run's weights file, or why there is none, in words for the user. A file whose size no longer matches the
    /// record (changed on disk since) is not offered: it is not what the card describes.
    /// </summary>
    public RunWeightsLookup WeightsOf(RunView run)
    {
        var id = run.Id;
        string? problem = run.Status switch
        {
            RunStatus.Queued or RunStatus.Running =>
                $"Run {id} is {run.Status.ToString().ToLowerInvariant()}: its weights are saved when it succeeds.",
            RunStatus.Failed => $"Run {id} failed, so it saved no weights" + (run.Error is { } e ? $": {e}" : "."),
            RunStatus.Cancelled => $"Run {id} was cancelled, so it saved no weights.",
            _ => null,
        };
        if (problem is not null) return new RunWeightsLookup(null, null, problem);
        if (run.Result?.TrainedWeights is not { } w)
            return new RunWeightsLookup(null, null, $"Run {id} finished before runs saved their trained weights; start it again to get them.");
        var path = Path.Combine(DirOf(id), w.File);
        if (Path.GetFileName(w.File) != w.File || !File.Exists(path) || new FileInfo(path).Length != w.Bytes)
            return new RunWeightsLookup(null, null, $"The weights file of run {id} ({w.File}) is missing from the data folder or has changed since the run wrote it.");
        return new RunWeightsLookup(path, w, null);
    }
}

/// <summary>A run's weights file (<see cref="Path"/> and its record), or the reason there is none.</summary>
public sealed record RunWeightsLookup(string? Path, TrainedWeights? Weights, string? Problem);
