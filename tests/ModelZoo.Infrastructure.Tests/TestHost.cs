using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Torch.Models;

namespace ModelZoo.Infrastructure.Tests;

/// <summary>
/// The real infrastructure (SQLite file, migrations, queue, worker, recorder) in a temp data folder, with the repo's
/// zoo/ as catalogue. Only the trainer is replaced, since these tests are about what surrounds it.
/// </summary>
public sealed class TestHost : IAsyncDisposable
{
    public string DataDir { get; } = Directory.CreateTempSubdirectory("mz-infra-").FullName;
    public IHost Host { get; }
    public IServiceProvider Services => Host.Services;

    /// <param name="settings">Extra configuration, e.g. <c>Storage:ZooDir</c> for a catalogue made by the test.</param>
    public TestHost(IRunTrainer trainer, bool startWorker = true, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Storage:DataDir"] = DataDir,
            ["Datasets:FetchOnStartup"] = "false",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) values[k] = v;
        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(ArchitectureRegistry.Default);
        builder.Services.AddSingleton<ModelZoo.Core.Strategies.IStrategyCatalog>(ModelZoo.Torch.Training.StrategyRegistry.Default);
        builder.Services.AddZooInfrastructure(config, AppContext.BaseDirectory);
        builder.Services.AddSingleton(trainer);
        if (!startWorker)
            foreach (var d in builder.Services.Where(d => d.ImplementationType == typeof(ModelZoo.Infrastructure.Runs.RunWorker)).ToList())
                builder.Services.Remove(d);
        Host = builder.Build();
    }

    public async Task StartAsync()
    {
        await Services.MigrateZooDatabaseAsync();
        WriteTinyDataset();
        await Host.StartAsync();
    }

    void WriteTinyDataset()
    {
        var labels = Enumerable.Range(0, 40).Select(i => i % 2).ToArray();
        var info = new DatasetInfo { Id = "tiny", Title = "Tiny", ClassNames = ["a", "b"], Examples = 40, Width = 4, Height = 4, Channels = 1, License = "test", Provenance = "generated in test" };
        Services.GetRequiredService<DatasetStore>().Write(info,
            new ImageSet { Width = 4, Height = 4, Channels = 1, Pixels = new byte[40 * 16], Labels = labels, ClassNames = info.ClassNames },
            StratifiedSplitter.Split(labels, 1));
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(DataDir, recursive: true);
    }
}
