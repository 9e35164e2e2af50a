using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Training;

namespace ModelZoo.Infrastructure.Storage;

/// <summary>
/// At start-up, removes what a process killed mid-write left in the data folder: the temp folders and files of
/// dataset uploads and fetches (<c>datasets/.tmp-*</c>), of weights imports (<c>weights/.tmp-*</c>), a run's
/// half-written checkpoint (<c>runs/&lt;id&gt;/checkpoint.new</c>) and the stale previous checkpoint a crash between a
/// save's renames can leave beside the new one (<c>checkpoint.old</c> when <c>checkpoint</c> exists), and the temp files
/// of atomic single-file writes (<c>*.tmp-*</c>) in run folders.
/// <para>
/// Every one of those writes goes to a temp name and ends in a rename, so nothing here was ever visible under its
/// final name; removing it only frees space and keeps listings clean. The writers' own age-based sweeps (an hour
/// for datasets, a day for weights) stay for the long-running process; at start-up no age is needed because one
/// portal process owns a data folder (it also re-queues every run left <c>Running</c> at start-up, which is only right
/// under that same assumption). A CLI command writing into the same data folder while the portal starts would lose its
/// temp files and fail with an I/O error; it never leaves a wrong file behind.
/// </para>
/// </summary>
public sealed class DataFolderRecovery(ZooPaths paths, ILogger<DataFolderRecovery> log)
{
    /// <summary>Removes the leftovers and returns the paths removed (for the log and the tests).</summary>
    public IReadOnlyList<string> RemoveLeftovers()
    {
        var removed = new List<string>();
        foreach (var dir in new[] { paths.DatasetsDir, paths.WeightsDir })
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var e in new DirectoryInfo(dir).EnumerateFileSystemInfos(".tmp-*")) Remove(e, removed);
        }
        if (Directory.Exists(paths.RunsDir))
        {
            foreach (var run in new DirectoryInfo(paths.RunsDir).EnumerateDirectories())
            {
                var checkpoint = Path.Combine(run.FullName, CheckpointFiles.Directory);
                if (Directory.Exists(checkpoint + ".new")) Remove(new DirectoryInfo(checkpoint + ".new"), removed);
                // With the new checkpoint in place the old one is the superseded state; without it,
                // CheckpointFiles.Find renames the old one back when the run is claimed.
                if (Directory.Exists(checkpoint) && Directory.Exists(checkpoint + ".old")) Remove(new DirectoryInfo(checkpoint + ".old"), removed);
                foreach (var f in run.EnumerateFiles("*.tmp-*", SearchOption.AllDirectories)) Remove(f, removed);
            }
        }
        foreach (var p in removed) log.LogWarning("Removed {Path}, left half-written by a process that stopped mid-write", p);
        return removed;
    }

    void Remove(FileSystemInfo e, List<string> removed)
    {
        try
        {
            if (e is DirectoryInfo d) d.Delete(recursive: true); else e.Delete();
            removed.Add(e.FullName);
        }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException)
        {
            log.LogWarning(x, "Could not remove the leftover {Path}", e.FullName);
        }
    }
}

public static class DataFolderRecoveryExtensions
{
    /// <summary>Run once at start-up, before the worker and the endpoints start: see <see cref="DataFolderRecovery"/>.</summary>
    public static IReadOnlyList<string> RecoverZooDataFolder(this IServiceProvider services) =>
        services.GetRequiredService<DataFolderRecovery>().RemoveLeftovers();
}
