using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>A .deb fetched with apt-get: where it lies, what it is, and the SHA-256 that the archive signed.</summary>
public sealed record FetchedDeb(string DebPath, string Package, string Version, string FileName, long Size, string Sha256);

/// <summary>
/// Fetches a Debian package file with <c>apt-get download</c>, the registry's ordinary client, without installing
/// it. <c>apt-get download --print-uris</c> first names the exact file, its size and its SHA-256 from the signed
/// package lists, so a cached .deb is reused only when it is byte-identical, and the progress bar can follow the
/// download by the file's growing size. The package lists are refreshed (<c>apt-get update</c>) at most once per
/// process, and only when apt does not know the package or its file has gone from the mirror.
/// </summary>
public sealed partial class DebianPackageFetcher(string downloadsDir)
{
    static readonly SemaphoreSlim UpdateGate = new(1, 1);
    static bool _updated;

    public string CacheDir => Path.Combine(downloadsDir, "debian");

    public async Task<FetchedDeb> FetchAsync(string package, IProgress<double>? progress, CancellationToken ct)
    {
        try { return await FetchOnceAsync(package, progress, ct); }
        catch (AptMissException first)
        {
            if (!await UpdateListsOnceAsync(ct)) throw new DatasetFetchException(first.Message);
            try { return await FetchOnceAsync(package, progress, ct); }
            catch (AptMissException again) { throw new DatasetFetchException(again.Message); }
        }
    }

    async Task<FetchedDeb> FetchOnceAsync(string package, IProgress<double>? progress, CancellationToken ct)
    {
        Directory.CreateDirectory(CacheDir);
        var uri = await PrintUriAsync(package, ct);
        var final = Path.Combine(CacheDir, uri.FileName);
        if (File.Exists(final) && await Sha256Async(final, ct) == uri.Sha256)
        {
            progress?.Report(1);
            return await DescribeAsync(package, final, uri, ct);
        }

        var tmp = Directory.CreateDirectory(Path.Combine(CacheDir, ".tmp-" + Guid.NewGuid().ToString("N")));
        try
        {
            // apt-get download writes into the current directory; a private temp folder keeps partial files out of the cache.
            using var proc = ProcessRunner.Start("apt-get", ["download", "-q", package], tmp.FullName);
            var outTask = proc.StandardOutput.ReadToEndAsync(ct);
            var errTask = proc.StandardError.ReadToEndAsync(ct);
            try
            {
                while (!proc.HasExited)
                {
                    progress?.Report(Math.Min(0.99, (double)SizeOf(tmp) / Math.Max(1, uri.Size)));
                    await Task.WhenAny(proc.WaitForExitAsync(ct), Task.Delay(250, ct));
                }
                await proc.WaitForExitAsync(ct);
            }
            catch (OperationCanceledException) { ProcessRunner.Kill(proc); throw; }
            var result = new ProcessRunner.Result(proc.ExitCode, await outTask, await errTask);
            if (result.Code != 0) throw new AptMissException($"apt-get download {package} failed (exit {result.Code}): {result.Tail}");
            var produced = Directory.GetFiles(tmp.FullName, "*.deb").SingleOrDefault()
                ?? throw new DatasetFetchException($"apt-get download {package} produced no .deb file.");
            var sha = await Sha256Async(produced, ct);
            if (sha != uri.Sha256)
                throw new DatasetFetchException($"{Path.GetFileName(produced)}: SHA-256 {sha} differs from {uri.Sha256} in the signed package lists.");
            File.Move(produced, final, overwrite: true);
        }
        finally { tmp.Delete(recursive: true); }
        progress?.Report(1);
        return await DescribeAsync(package, final, uri, ct);
    }

    sealed record PrintedUri(string FileName, long Size, string Sha256);

    async Task<PrintedUri> PrintUriAsync(string package, CancellationToken ct)
    {
        // --print-uris prints nothing for a file already in the working directory, so ask from an empty one.
        var empty = Directory.CreateDirectory(Path.Combine(CacheDir, ".uris-" + Guid.NewGuid().ToString("N")));
        try
        {
            var r = await ProcessRunner.RunAsync("apt-get", ["download", "--print-uris", package], ct, empty.FullName);
            if (r.Code != 0) throw new AptMissException($"apt-get does not know the package {package} (exit {r.Code}): {r.Tail}");
            var m = UriLine().Match(r.Stdout);
            if (!m.Success) throw new DatasetFetchException($"apt-get download --print-uris {package} printed no file: {ProcessRunner.Last(r.Stdout)}");
            var fileName = m.Groups["file"].Value;
            if (fileName.Contains('/') || fileName.Contains("..") || !fileName.EndsWith(".deb", StringComparison.Ordinal))
                throw new DatasetFetchException($"apt-get named an unexpected file '{fileName}' for {package}.");
            return new PrintedUri(fileName, long.Parse(m.Groups["size"].Value), m.Groups["sha"].Value.ToLowerInvariant());
        }
        finally { empty.Delete(recursive: true); }
    }

    [GeneratedRegex(@"^'(?<url>[^']+)'\s+(?<file>\S+)\s+(?<size>\d+)\s+SHA256:(?<sha>[0-9a-fA-F]{64})\s*$", RegexOptions.Multiline)]
    private static partial Regex UriLine();

    static async Task<bool> UpdateListsOnceAsync(CancellationToken ct)
    {
        await UpdateGate.WaitAsync(ct);
        try
        {
            if (_updated) return false;
            _updated = true;
            var r = await ProcessRunner.RunAsync("apt-get", ["update", "-q"], ct);
            if (r.Code != 0)
                throw new DatasetFetchException($"The package lists are out of date and 'apt-get update' failed (exit {r.Code}; it needs root): {r.Tail}");
            return true;
        }
        finally { UpdateGate.Release(); }
    }

    static async Task<FetchedDeb> DescribeAsync(string package, string path, PrintedUri uri, CancellationToken ct)
    {
        var r = await ProcessRunner.RunAsync("dpkg-deb", ["--field", path, "Version"], ct);
        if (r.Code != 0) throw new DatasetFetchException($"{uri.FileName} is not a valid .deb: {r.Tail}");
        return new FetchedDeb(path, package, r.Stdout.Trim(), uri.FileName, uri.Size, uri.Sha256);
    }

    static long SizeOf(DirectoryInfo dir) =>
        dir.EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => { try { return f.Length; } catch (IOException) { return 0L; } });

    static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(fs, ct));
    }

    /// <summary>apt could not name or download the file: stale package lists are the usual cause.</summary>
    sealed class AptMissException(string message) : Exception(message);
}

/// <summary>
/// Reads files out of a .deb without installing or extracting it. The payload of current .debs is
/// <c>data.tar.xz</c>, and .NET has no xz decoder, so <c>dpkg-deb --fsys-tarfile</c> (present wherever apt-get is)
/// decompresses it to a pipe; the tar stream is read in memory with the same path and link checks as npm tarballs,
/// so nothing of the package touches the disk.
/// </summary>
public static class DebArchive
{
    public static async Task<Dictionary<string, byte[]>> ReadFilesAsync(string debPath, Func<string, bool> wanted, CancellationToken ct)
    {
        using var proc = ProcessRunner.Start("dpkg-deb", ["--fsys-tarfile", debPath]);
        var errTask = proc.StandardError.ReadToEndAsync(ct);
        Dictionary<string, byte[]> files;
        try
        {
            using var reg = ct.Register(() => ProcessRunner.Kill(proc));
            files = await Task.Run(() =>
            {
                var f = SafeTarReader.ReadFiles(proc.StandardOutput.BaseStream, Path.GetFileName(debPath), wanted);
                proc.StandardOutput.BaseStream.CopyTo(Stream.Null); // drain, so dpkg-deb never blocks on a full pipe
                return f;
            }, ct);
            await proc.WaitForExitAsync(ct);
        }
        catch (DatasetFetchException e)
        {
            // A broken tar stream usually means dpkg-deb itself failed (not a .deb, truncated); its message says more.
            try { await proc.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(2), ct); } catch (TimeoutException) { }
            if (proc.HasExited && proc.ExitCode != 0)
                throw new DatasetFetchException($"{Path.GetFileName(debPath)} is not a valid .deb (dpkg-deb exit {proc.ExitCode}): {ProcessRunner.Last(await errTask)}", e);
            ProcessRunner.Kill(proc);
            throw;
        }
        catch { ProcessRunner.Kill(proc); throw; }
        ct.ThrowIfCancellationRequested();
        if (proc.ExitCode != 0)
            throw new DatasetFetchException($"{Path.GetFileName(debPath)} is not a valid .deb (dpkg-deb exit {proc.ExitCode}): {ProcessRunner.Last(await errTask)}");
        return files;
    }
}
