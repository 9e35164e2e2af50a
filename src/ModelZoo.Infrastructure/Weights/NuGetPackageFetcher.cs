using System.Text.Json;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Weights;

/// <summary>A package as the NuGet client left it in the global packages folder.</summary>
/// <param name="Folder">The package's folder (<c>&lt;global packages&gt;/&lt;id lower-case&gt;/&lt;version&gt;</c>).</param>
/// <param name="PackagesFolder">The global packages folder restore used (NUGET_PACKAGES, nuget.config, or ~/.nuget/packages).</param>
public sealed record RestoredPackage(string Id, string Version, string Folder, string PackagesFolder);

/// <summary>
/// Fetches one exact package version with the ordinary NuGet client: <c>dotnet restore</c> of a throw-away project that
/// holds only <c>&lt;PackageDownload Include="id" Version="[version]" /&gt;</c>. NuGet then does what it does for any
/// project: takes the package from the global packages folder when it is there (no network), otherwise downloads it
/// from the configured sources and verifies its signature, and honours NUGET_PACKAGES and nuget.config. The folder it
/// used is read back from the restore's <c>project.assets.json</c> rather than guessed. PackageDownload brings the
/// package alone, not its dependencies: only its files are wanted, nothing is compiled against it.
/// </summary>
public sealed class NuGetPackageFetcher(string workDir, string client = "dotnet")
{
    public async Task<RestoredPackage> FetchAsync(string id, string version, CancellationToken ct)
    {
        if (FindOnPath(client) is null) throw new WeightsFetchException(ClientMissing(id, version));
        Directory.CreateDirectory(workDir);
        var dir = Directory.CreateDirectory(Path.Combine(workDir, ".nuget-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            var project = Path.Combine(dir, "fetch.csproj");
            await File.WriteAllTextAsync(project, ProjectXml(id, version), ct);
            // The work folder may lie inside a checkout of this repository: its Directory.Build.props and central
            // package versions must not apply to the throw-away project.
            var (code, stdout, stderr) = await ProcessRunner.RunAsync(client,
                ["restore", project, "-p:ImportDirectoryBuildProps=false", "-p:ImportDirectoryBuildTargets=false",
                 "-p:ImportDirectoryPackagesProps=false", "--nologo"], ct, dir,
                new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1", ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1" });
            if (code != 0)
                throw new WeightsFetchException($"dotnet restore of NuGet package {id} {version} failed (exit {code}): {RestoreErrors(stdout, stderr)}");
            var packagesFolder = PackagesFolderOf(Path.Combine(dir, "obj", "project.assets.json"))
                ?? throw new WeightsFetchException($"dotnet restore of {id} {version} succeeded but wrote no packageFolders in project.assets.json; cannot tell where the package went.");
            var folder = Path.Combine(packagesFolder, id.ToLowerInvariant(), version.ToLowerInvariant());
            if (!Directory.Exists(folder))
                throw new WeightsFetchException($"dotnet restore of {id} {version} succeeded, but {folder} does not exist (is the version written as NuGet normalises it?).");
            return new RestoredPackage(id, version, folder, packagesFolder);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    static string ProjectXml(string id, string version) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <TargetFramework>net{Environment.Version.Major}.0</TargetFramework>
            <!-- A fetch project: nothing is built, only the package is downloaded. -->
            <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
          </PropertyGroup>
          <ItemGroup>
            <PackageDownload Include="{System.Security.SecurityElement.Escape(id)}" Version="[{System.Security.SecurityElement.Escape(version)}]" />
          </ItemGroup>
        </Project>
        """;

    /// <summary>NuGet's error lines (NU1101 unknown package, NU1102 no such version, NU1301 source unreachable) say
    /// what went wrong; the rest of restore's output is noise to a user.</summary>
    static string RestoreErrors(string stdout, string stderr)
    {
        var lines = (stdout + "\n" + stderr).Split('\n').Select(l => l.Trim()).Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Distinct().ToList();
        return ProcessRunner.Last(lines.Count > 0 ? string.Join("\n", lines) : stderr.Length > 0 ? stderr : stdout);
    }

    static string? PackagesFolderOf(string assetsFile)
    {
        if (!File.Exists(assetsFile)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(assetsFile));
        return doc.RootElement.TryGetProperty("packageFolders", out var folders)
            ? folders.EnumerateObject().Select(p => p.Name).FirstOrDefault()
            : null;
    }

    string ClientMissing(string id, string version) =>
        $"The NuGet client '{client}' was not found on PATH. Weights are fetched with `dotnet restore` (the .NET SDK's NuGet client; " +
        "the portal's runtime image has no SDK). Install the .NET 10 SDK (Debian/Ubuntu: apt-get install dotnet-sdk-10.0) and fetch again, " +
        $"or fetch the package on a machine that has it (`nuget install {id} -Version {version}`, or `modelzoo weights fetch` there) " +
        "and import the model file from it with the model page's Import weights button or POST /api/models/{id}/weights.";

    /// <summary>The executable that starting <paramref name="file"/> would run, or null: a path as given, else the first hit on PATH.</summary>
    internal static string? FindOnPath(string file)
    {
        if (file.Contains(Path.DirectorySeparatorChar) || file.Contains(Path.AltDirectorySeparatorChar)) return File.Exists(file) ? file : null;
        var names = OperatingSystem.IsWindows() ? new[] { file + ".exe", file } : [file];
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var name in names)
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return null;
    }
}

/// <summary>Weights could not be fetched; the message says why and what to do instead.</summary>
public sealed class WeightsFetchException(string message, Exception? inner = null) : Exception(message, inner);
