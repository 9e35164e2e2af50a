using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure;

public static class DependencyInjection
{
    /// <summary>Storage, persistence, catalogue, weights store (import, export), datasets, and the run queue with its worker.</summary>
    public static IServiceCollection AddZooInfrastructure(this IServiceCollection services, IConfiguration config, string contentRoot)
    {
        services.Configure<StorageOptions>(config.GetSection(StorageOptions.Section));
        services.Configure<DatasetOptions>(config.GetSection(DatasetOptions.Section));
        services.Configure<LatencyOptions>(config.GetSection(LatencyOptions.Section));
        var storage = config.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        var paths = new ZooPaths(storage, contentRoot);
        services.AddSingleton(paths);
        services.AddSingleton<DataFolderRecovery>();
        services.TryAddTimeProvider();

        if (storage.DatabaseTimeoutSeconds <= 0)
            throw new InvalidOperationException($"{StorageOptions.Section}:{nameof(StorageOptions.DatabaseTimeoutSeconds)} must be positive (it is {storage.DatabaseTimeoutSeconds}).");
        services.AddDbContextFactory<ZooDbContext>(o => o.UseSqlite(
            $"Data Source={paths.DatabaseFile};Cache=Shared;Default Timeout={storage.DatabaseTimeoutSeconds}"));

        services.AddOptions<WeightsOptions>().Bind(config.GetSection(WeightsOptions.Section))
            .Validate(o => o.MaxUploadBytes > 0, $"{WeightsOptions.Section}:{nameof(WeightsOptions.MaxUploadBytes)} must be positive.")
            .Validate(o => o.FetchTimeoutMinutes > 0, $"{WeightsOptions.Section}:{nameof(WeightsOptions.FetchTimeoutMinutes)} must be positive.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.NuGetClient), $"{WeightsOptions.Section}:{nameof(WeightsOptions.NuGetClient)} must name the dotnet executable.")
            .ValidateOnStart();
        services.AddSingleton<WeightsStore>();
        services.AddSingleton<WeightsImportService>();
        services.AddSingleton<WeightsFetchService>();
        services.AddSingleton<WeightsExporter>();

        services.AddSingleton<ZooCatalog>();
        services.AddSingleton<PretrainingCorpora>();
        services.AddSingleton<ICatalog>(sp => sp.GetRequiredService<ZooCatalog>());
        services.AddSingleton<LatencyService>();
        services.AddHostedService(sp => sp.GetRequiredService<LatencyService>());
        services.AddSingleton<DatasetStore>();
        services.AddSingleton<IDatasetCatalog>(sp => sp.GetRequiredService<DatasetStore>());
        services.AddSingleton<IDomainPairs, DomainPairCatalog>();
        foreach (var builtIn in BuiltInDatasets.All) services.AddSingleton(builtIn);
        services.AddSingleton<DatasetFetchService>();
        services.AddHostedService<DatasetBootstrapper>();
        services.AddOptions<ImageUploadOptions>().Bind(config.GetSection(ImageUploadOptions.Section)).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ImageUploadOptions>, ImageUploadOptionsValidator>();
        services.AddOptions<TextUploadOptions>().Bind(config.GetSection(TextUploadOptions.Section)).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<TextUploadOptions>, TextUploadOptionsValidator>();
        services.AddSingleton<TextTableImporter>();
        services.AddSingleton<TextModelVocabularies>();
        services.AddSingleton<ImageFolderImporter>();

        services.AddSingleton<RunQueueSignal>();
        services.AddSingleton<RunCancellations>();
        services.AddSingleton<RunEventRecorder>();
        services.AddSingleton<RunOutputs>();
        services.AddSingleton<RunOnnxExporter>();
        services.AddOptions<Runs.Predict.PredictOptions>().Bind(config.GetSection(Runs.Predict.PredictOptions.Section)).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<Runs.Predict.PredictOptions>, Runs.Predict.PredictOptionsValidator>();
        services.AddSingleton<Runs.Predict.RunPredictor>();
        services.AddSingleton<Runs.Predict.RunMistakes>();
        services.AddSingleton<Runs.Compression.RunCompressions>();
        services.AddSingleton<TrainingJobs>();
        services.AddSingleton<SourceRuns>();
        services.AddSingleton<DomainGap.DomainGapService>();
        services.AddSingleton<Recommender.BackboneRecommender>();
        services.AddSingleton<RunService>();
        services.AddSingleton<Runs.Plan.RunPlanner>();
        services.AddSingleton<ModelZoo.Infrastructure.Accounts.ApiTokenStore>();
        services.AddSingleton<SweepService>();
        services.AddSingleton<Runs.Experiments.ExperimentService>();
        services.AddSingleton<Runs.Compare.RunCompareService>();
        services.AddSingleton<Runs.Queue.QueueService>();
        services.AddSingleton<Runs.Cards.CardService>();
        services.AddHostedService<RunWorker>();
        return services;
    }

    static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (services.All(d => d.ServiceType != typeof(TimeProvider))) services.AddSingleton(TimeProvider.System);
    }

    /// <summary>Loads the catalogue and computes every entry's parameter count at start-up, so the first catalogue page
    /// does not pay for it (the counts build each architecture on the meta device; see ArchitectureRegistry.CountParameters).</summary>
    public static void WarmZooCatalog(this IServiceProvider services) => services.GetRequiredService<ZooCatalog>().All();

    /// <summary>Applies pending EF Core migrations; the schema is never created with EnsureCreated.</summary>
    public static async Task MigrateZooDatabaseAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        var factory = services.GetRequiredService<IDbContextFactory<ZooDbContext>>();
        await using var db = await factory.CreateDbContextAsync(ct);
        await db.Database.MigrateAsync(ct);
        // WAL lets the dashboards read while the worker writes progress.
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
    }
}
