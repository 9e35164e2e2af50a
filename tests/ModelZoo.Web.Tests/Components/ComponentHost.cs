using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Torch.Models;
using ModelZoo.Web.Components.Shared;
using ModelZoo.Web.Runs;
using MudBlazor.Services;

namespace ModelZoo.Web.Tests.Components;

/// <summary>
/// A bUnit context with the real run store (SQLite in a temp folder, migrations, recorder, notifier), the repo's
/// catalogue and a tiny dataset. The SignalR relay is left out: pages listen to the in-process notifier, which the
/// recorder feeds directly here. Hosted services (worker, dataset fetch) do not run in bUnit.
/// </summary>
public sealed class ComponentHost : IAsyncDisposable
{
    public BunitContext Ctx { get; } = new();
    readonly string _dir = Directory.CreateTempSubdirectory("mz-bunit-").FullName;

    sealed class NotifierOnly(RunNotifier notifier) : IRunEventBroadcaster
    {
        public Task PublishAsync(RunEvent e, CancellationToken ct = default) { notifier.Publish(e); return Task.CompletedTask; }
    }

    sealed class UnusedTrainer : IRunTrainer
    {
        public string Device => "CPU (test)";
        public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct) => throw new NotSupportedException();
    }

    /// <param name="settings">Extra configuration, e.g. <c>Storage:ZooDir</c> for a catalogue made by the test.</param>
    /// <param name="configure">Changes to the services after the real ones are added (e.g. fake built-in datasets).</param>
    public static async Task<ComponentHost> CreateAsync(
        IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        // The new-run page plans its run in the background (the first plan of a process loads and JIT-compiles the
        // planner: seconds on a loaded 2-core runner), so waits for a render get more than bUnit's default second.
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(10);
        var h = new ComponentHost();
        var values = new Dictionary<string, string?> { ["Storage:DataDir"] = h._dir };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) values[k] = v;
        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var s = h.Ctx.Services;
        s.AddSingleton(ArchitectureRegistry.Default);
        s.AddSingleton<ModelZoo.Core.Strategies.IStrategyCatalog>(ModelZoo.Torch.Training.StrategyRegistry.Default);
        s.AddSingleton(ModelZoo.Torch.Training.StrategyRegistry.Default);
        s.AddSingleton<ModelZoo.Torch.Training.Plan.TrainingPlanner>();
        s.AddZooInfrastructure(config, AppContext.BaseDirectory);
        s.AddSingleton<IRunTrainer, UnusedTrainer>();
        s.AddSingleton<RunNotifier>();
        s.AddSingleton<IRunEventBroadcaster, NotifierOnly>();
        s.AddSingleton<MarkdownRenderer>();
        s.AddMudServices();
        configure?.Invoke(s);
        // Pages show launch and cancel buttons by policy and ownership: render them as an admin sees them.
        var auth = h.Ctx.AddAuthorization();
        auth.SetAuthorized("admin");
        auth.SetRoles(ModelZoo.Infrastructure.Accounts.ZooRoles.Admin);
        auth.SetPolicies(ModelZoo.Web.Accounts.ZooPolicies.Viewer, ModelZoo.Web.Accounts.ZooPolicies.Analyst, ModelZoo.Web.Accounts.ZooPolicies.Admin);
        h.Ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        h.Ctx.SetRendererInfo(new RendererInfo("Server", true));

        await s.MigrateZooDatabaseAsync();
        var labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        s.GetRequiredService<DatasetStore>().Write(
            new DatasetInfo { Id = "tiny", Title = "Tiny", ClassNames = ["a", "b"], Examples = 20, Width = 2, Height = 2, Channels = 1 },
            new ImageSet { Width = 2, Height = 2, Channels = 1, Pixels = new byte[80], Labels = labels, ClassNames = ["a", "b"] },
            StratifiedSplitter.Split(labels, 1));
        return h;
    }

    public string DataDir => _dir;

    public T Get<T>() where T : notnull => Ctx.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        await Ctx.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
