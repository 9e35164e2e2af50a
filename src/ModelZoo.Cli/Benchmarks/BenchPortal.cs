using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// The portal's services in this process, on a temp data folder (SQLite database, datasets, run outputs, feature
/// cache), composed as the web host composes them (<c>AddZooTorch</c> + <c>AddZooInfrastructure</c>) without the web
/// parts. With <c>worker</c> the hosted services start, so launched runs are claimed and trained by the real
/// <see cref="RunWorker"/>; without it a benchmark trains a launched run itself through <see cref="Train"/>, with the
/// real event path (<see cref="RunEventRecorder.ProgressFor"/>). The folder is deleted on dispose.
/// </summary>
public sealed class BenchPortal : IAsyncDisposable
{
    readonly IHost _host;
    readonly bool _started;

    BenchPortal(string root, IHost host, bool started) { Root = root; _host = host; _started = started; }

    public string Root { get; }

    public T Get<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    public static async Task<BenchPortal> StartAsync(int threads, bool worker, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var root = Directory.CreateTempSubdirectory("mz-bench-portal-").FullName;
        try
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = root });
            var config = new Dictionary<string, string?>
            {
                ["Storage:DataDir"] = Path.Combine(root, "data"),
                ["Storage:ZooDir"] = FindZooDir(),
                ["Torch:Threads"] = threads.ToString(CultureInfo.InvariantCulture),
                ["Datasets:FetchOnStartup"] = "false",
            };
            foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) config[k] = v;
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddZooTorch(builder.Configuration).AddZooInfrastructure(builder.Configuration, root);
            var host = builder.Build();
            await host.Services.MigrateZooDatabaseAsync();
            host.Services.WarmZooCatalog();
            // TorchRuntime is initialised once per process; a benchmark's own thread count applies to this portal.
            if (threads > 0) TorchSharp.torch.set_num_threads(threads);
            if (worker) await host.StartAsync();
            return new BenchPortal(root, host, worker);
        }
        catch
        {
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    /// <summary>The repository's <c>zoo</c> folder, looked for above the working directory, then above this binary.</summary>
    static string FindZooDir()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "ModelZoo.sln")) && Directory.Exists(Path.Combine(d.FullName, "zoo")))
                    return Path.Combine(d.FullName, "zoo");
        return "";
    }

    /// <summary>Random RGB (or grey) images of one side, labels cycling over <paramref name="classes"/>, split in
    /// order: the first <paramref name="train"/> train, then validation, then test. Stored through the dataset store.</summary>
    public DatasetInfo WriteImages(string id, int train, int validation, int test, int side, int channels = 3, int classes = 10, int seed = 20261211)
    {
        int n = train + validation + test;
        var pixels = new byte[(long)n * channels * side * side];
        new Random(seed).NextBytes(pixels);
        var labels = Enumerable.Range(0, n).Select(i => i % classes).ToArray();
        var names = Enumerable.Range(0, classes).Select(c => $"class{c}").ToList();
        var info = new DatasetInfo
        {
            Id = id, Title = $"Synthetic {id}", ClassNames = names, Width = side, Height = side, Channels = channels,
            Augmentation = channels == 1 ? AugmentationProfile.Digits : AugmentationProfile.Photos, License = "generated", Origin = DatasetOrigin.Upload,
        };
        var split = new SplitIndices(seed, Enumerable.Range(0, train).ToArray(), Enumerable.Range(train, validation).ToArray(),
            Enumerable.Range(train + validation, test).ToArray());
        return Get<DatasetStore>().Write(info, new ImageSet { Width = side, Height = side, Channels = channels, Pixels = pixels, Labels = labels, ClassNames = names }, split);
    }

    /// <summary>Validates and stores a run as the portal's launch does; the errors, keyed by field, when refused.</summary>
    public async Task<Guid> LaunchAsync(RunRequest request)
    {
        var launched = await Get<RunService>().LaunchAsync(request);
        if (!launched.Ok) throw new ArgumentException("The run was refused: " + string.Join("; ", launched.Errors.Select(e => $"{e.Key}: {e.Value}")));
        return launched.RunId!.Value;
    }

    /// <summary>Trains a launched run on the calling thread as the worker would (the worker's job settings: a
    /// checkpoint per epoch, the weights file), with <paramref name="progress"/> or else the real recorder, and
    /// records its final status so the recorder forgets the run.</summary>
    public TrainingOutcome Train(Guid runId, IRunProgress? progress = null)
    {
        var outputs = Get<RunOutputs>();
        var request = RunJson.Read<RunRequest>(Record(runId).RequestJson);
        var prepared = Get<TrainingJobs>().Prepare(runId, request, Directory.CreateDirectory(outputs.DirOf(runId)).FullName);
        var job = prepared.Job with { WeightsFileName = RunOutputs.WeightsFileNameOf(runId), Checkpoint = true };
        var recorder = Get<RunEventRecorder>();
        try { return Get<IRunTrainer>().Train(job, progress ?? recorder.ProgressFor(runId), CancellationToken.None); }
        finally
        {
            recorder.RecordAsync(runId, RunEventKind.Status, new StatusChange(RunStatus.Succeeded, "benchmark run")).GetAwaiter().GetResult();
            Directory.Delete(outputs.DirOf(runId), recursive: true);
        }
    }

    /// <summary>The prepared job of a launched run, for code that runs its own loop on it (the bare step).</summary>
    public TrainingJob Job(Guid runId)
    {
        var request = RunJson.Read<RunRequest>(Record(runId).RequestJson);
        return Get<TrainingJobs>().Prepare(runId, request, Directory.CreateDirectory(Get<RunOutputs>().DirOf(runId)).FullName).Job;
    }

    public RunRecord Record(Guid runId)
    {
        using var db = Get<IDbContextFactory<ZooDbContext>>().CreateDbContext();
        return db.Runs.AsNoTracking().First(r => r.Id == runId);
    }

    /// <summary>Waits until the worker has finished the run (any final status) and returns its record.</summary>
    public async Task<RunRecord> WaitAsync(Guid runId, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var r = Record(runId);
            if (r.Status.IsTerminal()) return r;
            if (DateTime.UtcNow > until) throw new TimeoutException($"Run {runId} did not finish within {timeout.TotalSeconds:0} s (status {r.Status}).");
            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_started) await _host.StopAsync();
            if (_host is IAsyncDisposable a) await a.DisposeAsync(); else _host.Dispose();
        }
        finally
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        }
    }
}
