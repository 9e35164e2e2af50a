using System.Diagnostics;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>Runs a registry client (npm, apt-get, dpkg-deb, dotnet restore) and collects its output; cancelling kills it.</summary>
internal static class ProcessRunner
{
    public sealed record Result(int Code, string Stdout, string Stderr)
    {
        public string Tail => Last(string.IsNullOrWhiteSpace(Stderr) ? Stdout : Stderr);
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, CancellationToken ct, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        using var p = Start(file, args, workingDirectory, environment);
        var outTask = p.StandardOutput.ReadToEndAsync(ct);
        var errTask = p.StandardError.ReadToEndAsync(ct);
        try { await p.WaitForExitAsync(ct); }
        catch (OperationCanceledException) { Kill(p); throw; }
        return new Result(p.ExitCode, await outTask, await errTask);
    }

    /// <summary>Starts a process with redirected output, or explains which client is missing and how to get it.</summary>
    public static Process Start(string file, IEnumerable<string> args, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // Registry clients localise their messages; the portal shows and matches them in English.
        psi.Environment["LC_ALL"] = "C";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        try { return Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new DatasetFetchException(file switch
            {
                "npm" => "'npm' was not found. Built-in datasets are fetched with the registry's own client: install Node.js and npm (Debian: apt-get install npm).",
                _ => $"'{file}' was not found. Debian datasets are fetched with apt-get and unpacked with dpkg-deb, which a Debian or Ubuntu system has.",
            });
        }
    }

    public static void Kill(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    public static string Last(string s)
    {
        s = s.Trim();
        return s.Length > 800 ? s[^800..] : s;
    }
}
