namespace ModelZoo.Infrastructure.Storage;

public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The one folder that holds the SQLite database, datasets, weights and run outputs.
    /// Empty: <c>.data</c> beside ModelZoo.sln when running from source, else <c>./data</c>.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>The catalogue folder (one sub-folder per entry). Empty: <c>zoo</c> beside ModelZoo.sln, else <c>./zoo</c>.</summary>
    public string ZooDir { get; set; } = "";

    /// <summary>How long a database command waits for a lock another process holds on the SQLite file before it fails
    /// with an error naming the file (Microsoft.Data.Sqlite's default, 30 s, unless set).</summary>
    public int DatabaseTimeoutSeconds { get; set; } = 30;

    /// <summary>Where fetched registry packages are cached; empty: <c>&lt;DataDir&gt;/downloads</c>. Tests share one.</summary>
    public string DownloadCacheDir { get; set; } = "";
}

/// <summary>Resolved absolute paths. Created once at start-up; every feature asks here, never builds its own.</summary>
public sealed class ZooPaths
{
    public ZooPaths(StorageOptions options, string contentRoot)
    {
        var repoRoot = FindRepoRoot(contentRoot);
        DataDir = Path.GetFullPath(!string.IsNullOrWhiteSpace(options.DataDir) ? options.DataDir
            : repoRoot is not null ? Path.Combine(repoRoot, ".data") : Path.Combine(contentRoot, "data"));
        ZooDir = Path.GetFullPath(!string.IsNullOrWhiteSpace(options.ZooDir) ? options.ZooDir
            : repoRoot is not null ? Path.Combine(repoRoot, "zoo") : Path.Combine(contentRoot, "zoo"));
        DownloadsDir = Path.GetFullPath(!string.IsNullOrWhiteSpace(options.DownloadCacheDir) ? options.DownloadCacheDir
            : Path.Combine(DataDir, "downloads"));
        Directory.CreateDirectory(DataDir);
        Directory.CreateDirectory(DatasetsDir);
        Directory.CreateDirectory(RunsDir);
        Directory.CreateDirectory(WeightsDir);
    }

    public string DataDir { get; }
    public string ZooDir { get; }
    public string DownloadsDir { get; }
    public string DatabaseFile => Path.Combine(DataDir, "modelzoo.db");
    public string DatasetsDir => Path.Combine(DataDir, "datasets");
    public string RunsDir => Path.Combine(DataDir, "runs");
    public string WeightsDir => Path.Combine(DataDir, "weights");
    /// <summary>Frozen backbones' per-example features, shared by runs (one folder per weights, data and preprocessing).</summary>
    public string FeaturesDir => Path.Combine(DataDir, "features");

    static string? FindRepoRoot(string start)
    {
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ModelZoo.sln"))) return d.FullName;
        return null;
    }
}
