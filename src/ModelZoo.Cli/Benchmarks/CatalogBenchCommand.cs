using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ModelZoo.Infrastructure.Catalog;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench catalog</c>: the catalogue at team scale. Generates a zoo of N entries (the repository's entries
/// copied under new tags: manifests and small files copied, weights files linked), starts the real web portal on it
/// (the built <c>ModelZoo.Web.dll</c> as a child process, loopback, a temp data folder), and times the catalogue page
/// (time to the response headers, the first byte a browser can use, and to the last byte, with the page's size) and
/// <c>/api/models</c>, as medians over rounds after a warm-up. Issue 13's targets: first byte under 50 ms and a first
/// page under 200 KB with 500 entries.
/// </summary>
public static class CatalogBenchCommand
{
    public static Command Create()
    {
        var entries = new Option<int>("--entries") { Description = "Catalogue entries in the generated zoo.", DefaultValueFactory = _ => 504 };
        var rounds = new Option<int>("--rounds") { Description = "Timed requests per URL (after 5 warm-up requests).", DefaultValueFactory = _ => 30 };
        var web = new Option<string?>("--web") { Description = "The built web portal (default: src/ModelZoo.Web/bin/Release/net10.0/linux-x64/ModelZoo.Web.dll under the repository)." };
        var zoo = new Option<string?>("--zoo") { Description = "The zoo to copy (default: the repository's zoo/)." };
        var paths = new Option<string>("--paths") { Description = "Comma-separated URLs to time; other pages give the layout's own cost for reference.", DefaultValueFactory = _ => "/catalog,/api/models" };
        var cmd = new Command("catalog", "Catalogue page and /api/models with a generated zoo of N entries, on the real portal.") { entries, rounds, web, zoo, paths };
        cmd.SetAction(async (r, ct) =>
        {
            var o = r.InvocationConfiguration.Output;
            var root = RepoRoot();
            var webDll = r.GetValue(web) ?? Path.Combine(root ?? ".", "src", "ModelZoo.Web", "bin", "Release", "net10.0", "linux-x64", "ModelZoo.Web.dll");
            var source = r.GetValue(zoo) ?? Path.Combine(root ?? ".", "zoo");
            if (!File.Exists(webDll)) { r.InvocationConfiguration.Error.WriteLine($"No web portal at {webDll}: build it (dotnet build src/ModelZoo.Web -c Release) or pass --web."); return 2; }
            if (!Directory.Exists(source)) { r.InvocationConfiguration.Error.WriteLine($"No zoo at {source}: pass --zoo."); return 2; }
            return await RunAsync(webDll, source, r.GetValue(entries), r.GetValue(rounds), r.GetValue(paths)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), o, ct);
        });
        return cmd;
    }

    static async Task<int> RunAsync(string webDll, string sourceZoo, int count, int rounds, string[] paths, TextWriter o, CancellationToken ct)
    {
        var temp = Directory.CreateTempSubdirectory("mz-bench-catalog-").FullName;
        Process? portal = null;
        try
        {
            var zooDir = Path.Combine(temp, "zoo");
            var made = ZooCopies.Generate(sourceZoo, zooDir, count);
            o.WriteLine($"generated zoo: {made} entries from {Directory.GetDirectories(sourceZoo).Length} in {sourceZoo}");
            var port = FreePort();
            var url = $"http://127.0.0.1:{port}";
            var psi = new ProcessStartInfo("dotnet", [webDll, "--urls", url])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(webDll)!,
            };
            psi.Environment["Storage__ZooDir"] = zooDir;
            psi.Environment["Storage__DataDir"] = Path.Combine(temp, "data");
            psi.Environment["Datasets__FetchOnStartup"] = "false";
            // The portal listens on loopback only, so accounts can be off: the page is timed, not the login redirect.
            psi.Environment["Auth__Mode"] = "None";
            psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            psi.Environment["Logging__LogLevel__Default"] = "Warning";
            portal = Process.Start(psi)!;
            var log = new System.Text.StringBuilder();
            portal.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
            portal.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
            portal.BeginOutputReadLine();
            portal.BeginErrorReadLine();

            using var http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, UseCookies = false })
            { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
            var up = Stopwatch.StartNew();
            while (true)
            {
                if (portal.HasExited) { o.WriteLine(log.ToString()); throw new InvalidOperationException($"The portal exited with {portal.ExitCode} before answering."); }
                try { if ((await http.GetAsync("/healthz", ct)).IsSuccessStatusCode) break; } catch (HttpRequestException) { }
                if (up.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException("The portal did not answer /healthz within 2 minutes.");
                await Task.Delay(250, ct);
            }
            o.WriteLine($"portal up in {up.Elapsed.TotalSeconds:F1} s at {url} ({webDll})");
            o.WriteLine($"rounds: {rounds} per URL after 5 warm-up requests; times in ms (median, p90); sizes as sent (no compression)");
            o.WriteLine();
            o.WriteLine("| URL | first byte median | p90 | whole response median | bytes |");
            o.WriteLine("| --- | --- | --- | --- | --- |");
            foreach (var path in paths)
            {
                for (var i = 0; i < 5; i++) await TimeAsync(http, path, ct);
                var samples = new List<(double Headers, double Total, long Bytes)>();
                for (var i = 0; i < rounds; i++) samples.Add(await TimeAsync(http, path, ct));
                var h = samples.Select(s => s.Headers).Order().ToList();
                var t = samples.Select(s => s.Total).Order().ToList();
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {path} | {Median(h):F1} | {h[(int)Math.Ceiling(0.9 * h.Count) - 1]:F1} | {Median(t):F1} | {samples[^1].Bytes:N0} |"));
            }
            return 0;
        }
        finally
        {
            if (portal is { HasExited: false }) { portal.Kill(entireProcessTree: true); await portal.WaitForExitAsync(CancellationToken.None); }
            portal?.Dispose();
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Time to the response headers (the server's first byte) and to the last byte.</summary>
    static async Task<(double Headers, double Total, long Bytes)> TimeAsync(HttpClient http, string path, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
        var headers = sw.Elapsed.TotalMilliseconds;
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        return (headers, sw.Elapsed.TotalMilliseconds, body.LongLength);
    }

    static double Median(List<double> sorted) => sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;

    static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    static string? RepoRoot()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ModelZoo.sln"))) return d.FullName;
        return null;
    }
}
