using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelZoo.Torch.Benchmarks;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench models --arch resnet18,mobilenet_v2 --mode inference|train --batch 32 --size 224 --threads 2
/// [--rounds 3] [--reference /usr/bin/python3|none] [--layout auto|nchw] [--reference-layout nchw|channels-last]</c>. TorchSharp and PyTorch are measured in the same run,
/// interleaved round by round (A B A B) so that machine noise hits both; medians and their ratio are printed as a
/// Markdown table ready for docs/benchmarks.md. Several --threads values measure the thread setting itself.
/// <c>--layout auto</c> times TorchSharp as the portal runs it (channels-last CPU inference where an architecture
/// allows it, Models/InferenceLayout.cs), <c>nchw</c> with that off; <c>--reference-layout channels-last</c> gives
/// PyTorch the same advantage (<c>model.to(memory_format=torch.channels_last)</c>), so both comparisons can be made.
/// </summary>
public static class BenchCommands
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "Comma-separated architectures.", DefaultValueFactory = _ => "resnet18" };
        var mode = new Option<string>("--mode") { Description = "inference or train.", DefaultValueFactory = _ => "inference" }.AcceptOnlyFromAmong("inference", "train");
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 32 };
        var size = new Option<int>("--size") { DefaultValueFactory = _ => 224 };
        var threads = new Option<string>("--threads") { Description = "Comma-separated thread counts.", DefaultValueFactory = _ => Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
        var repeats = new Option<int>("--repeats") { Description = "Timed iterations per round.", DefaultValueFactory = _ => 5 };
        var reference = new Option<string>("--reference")
        {
            Description = "Python with torch and torchvision for the reference side, or 'none'.",
            DefaultValueFactory = _ => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3",
        };
        var layout = new Option<string>("--layout")
        {
            Description = "TorchSharp memory order: auto (as the portal runs: channels-last CPU inference where the architecture allows it) or nchw.",
            DefaultValueFactory = _ => "auto",
        }.AcceptOnlyFromAmong("auto", "nchw");
        var referenceLayout = new Option<string>("--reference-layout")
        {
            Description = "PyTorch memory order: nchw (eager default) or channels-last (model and input converted, every architecture).",
            DefaultValueFactory = _ => "nchw",
        }.AcceptOnlyFromAmong("nchw", "channels-last");
        var models = new Command("models", "Time TorchSharp against PyTorch for the same models, batch and threads.")
        {
            arch, mode, batch, size, threads, rounds, repeats, reference, layout, referenceLayout,
        };
        models.SetAction(r =>
        {
            var m = r.GetValue(mode) == "train" ? BenchMode.Train : BenchMode.Inference;
            var threadList = r.GetValue(threads)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            var archs = r.GetValue(arch)!.Split(',', StringSplitOptions.RemoveEmptyEntries);
            return Guarded(r.InvocationConfiguration.Error, r.GetValue(layout)!, () => Run(archs, m, r.GetValue(batch), r.GetValue(size),
                threadList, r.GetValue(rounds), r.GetValue(repeats), r.GetValue(reference)!, r.GetValue(referenceLayout) == "channels-last",
                r.InvocationConfiguration.Output));
        });
        var layers = new Command("layers", "Where one inference forward spends its time, by module type, in TorchSharp and PyTorch.")
        {
            arch, batch, size, threads, repeats, reference, layout, referenceLayout,
        };
        layers.SetAction(r =>
        {
            return Guarded(r.InvocationConfiguration.Error, r.GetValue(layout)!, () => Layers(r.GetValue(arch)!.Split(',', StringSplitOptions.RemoveEmptyEntries),
                r.GetValue(batch), r.GetValue(size), int.Parse(r.GetValue(threads)!.Split(',')[0], CultureInfo.InvariantCulture),
                r.GetValue(repeats), r.GetValue(reference)!, r.GetValue(referenceLayout) == "channels-last", r.InvocationConfiguration.Output));
        });
        return new Command("bench", "Benchmarks whose numbers go to docs/benchmarks.md.") {
            models, layers, LoaderBenchCommand.Create(), TextBenchCommand.Create(), FewShotBenchCommand.Create(),
            StrategyBenchCommand.Create(), FeatureBenchCommand.Create(), MemoryBenchCommand.Create(), CatalogBenchCommand.Create(), CompareBenchCommand.Create(),
        };
    }

    static string Script => Path.Combine(AppContext.BaseDirectory, "Benchmarks", "pytorch_reference.py");

    static string LayoutLine(bool useRef, bool referenceChannelsLast) =>
        $"layout: TorchSharp {(ModelZoo.Torch.Models.InferenceLayout.ChannelsLastEnabled ? "auto (channels-last CPU inference where the architecture allows it)" : "nchw")}" +
        (useRef ? $", PyTorch {(referenceChannelsLast ? "channels-last" : "nchw")}" : "");

    static int Run(string[] archs, BenchMode mode, int batch, int size, List<int> threads, int rounds, int repeats, string python,
        bool referenceChannelsLast, TextWriter o)
    {
        var useRef = python != "none";
        o.WriteLine($"mode {mode.ToString().ToLowerInvariant()}, batch {batch}, input {size}x{size}, {rounds} interleaved rounds x {repeats} iterations, " +
                    $"{Environment.ProcessorCount} cores, {ModelZoo.Torch.Native.TorchRuntime.SoftwareVersions}");
        o.WriteLine(LayoutLine(useRef, referenceChannelsLast));
        o.WriteLine();
        o.WriteLine("| architecture | threads | TorchSharp median ms | PyTorch median ms | ratio TorchSharp/PyTorch | per-round ratios | TorchSharp examples/s | PyTorch examples/s |");
        o.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        string? torchVersion = null;
        foreach (var a in archs)
            foreach (var t in threads)
            {
                var ours = new List<double>(); var theirs = new List<double>();
                // A shared VM's speed drifts between rounds (steal, frequency); the ratio within one round is
                // immune to drift slower than a round, so the spread of per-round ratios shows how far to trust
                // the overall ratio.
                var roundRatios = new List<double>();
                for (int round = 0; round < rounds; round++)
                {
                    var mine = ModelBenchmark.Measure(new BenchSpec(a, mode, batch, size, t, Warmup: 2, Repeats: repeats));
                    ours.AddRange(mine);
                    if (useRef)
                    {
                        var (ms, version, _) = RunReference(python, a, mode, batch, size, t, repeats, referenceChannelsLast);
                        theirs.AddRange(ms); torchVersion = version;
                        roundRatios.Add(ModelBenchmark.Median(mine) / ModelBenchmark.Median(ms));
                    }
                }
                var mo = ModelBenchmark.Median(ours);
                var mt = useRef ? ModelBenchmark.Median(theirs) : double.NaN;
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {a} | {t} | {mo:F1} | {(useRef ? mt.ToString("F1", CultureInfo.InvariantCulture) : "–")} | {(useRef ? (mo / mt).ToString("F3", CultureInfo.InvariantCulture) : "–")} " +
                    $"| {(useRef ? string.Join(" ", roundRatios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture))) : "–")} " +
                    $"| {batch * 1000 / mo:F1} | {(useRef ? (batch * 1000 / mt).ToString("F1", CultureInfo.InvariantCulture) : "–")} |"));
                o.Flush();
            }
        if (torchVersion is not null) { o.WriteLine(); o.WriteLine($"reference: PyTorch {torchVersion} ({python})"); }
        return ExitCodes.Ok;
    }

    /// <summary>Runs <paramref name="body"/> with TorchSharp's layout as asked (auto: channels-last inference where
    /// allowed; nchw: off) and puts the process setting back, for callers that run commands in-process.
    /// Bad input is a usage exit and a failed reference a failure, each one line on stderr.</summary>
    static int Guarded(TextWriter error, string layout, Func<int> body)
    {
        var before = ModelZoo.Torch.Models.InferenceLayout.ChannelsLastEnabled;
        ModelZoo.Torch.Models.InferenceLayout.ChannelsLastEnabled = layout == "auto";
        try { return body(); }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (ReferenceFailedException e)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }
        finally { ModelZoo.Torch.Models.InferenceLayout.ChannelsLastEnabled = before; }
    }

    /// <summary><c>bench layers</c>: one table per architecture, a row per leaf module type, TorchSharp then PyTorch
    /// (one process each, run one after the other), ms per forward.</summary>
    static int Layers(string[] archs, int batch, int size, int threads, int repeats, string python, bool referenceChannelsLast, TextWriter o)
    {
        var useRef = python != "none";
        o.WriteLine($"inference, batch {batch}, input {size}x{size}, {threads} threads, {repeats} iterations, {ModelZoo.Torch.Native.TorchRuntime.SoftwareVersions}");
        o.WriteLine(LayoutLine(useRef, referenceChannelsLast));
        foreach (var a in archs)
        {
            var ours = ModelBenchmark.ProfileInference(new BenchSpec(a, BenchMode.Inference, batch, size, threads, Warmup: 2, Repeats: repeats));
            IReadOnlyDictionary<string, double>? theirs = null;
            if (useRef) theirs = RunReference(python, a, BenchMode.Inference, batch, size, threads, repeats, referenceChannelsLast, byModule: true).ByModule;
            o.WriteLine();
            o.WriteLine($"{a}:");
            o.WriteLine();
            o.WriteLine("| module type | TorchSharp ms | PyTorch ms | ratio |");
            o.WriteLine("| --- | --- | --- | --- |");
            var types = ours.Keys.Concat(theirs?.Keys ?? []).Distinct()
                .OrderBy(k => k == "total" ? 2 : k == "other" ? 1 : 0).ThenByDescending(k => ours.GetValueOrDefault(k));
            foreach (var k in types)
            {
                string F(double? v) => v is { } d ? d.ToString("F1", CultureInfo.InvariantCulture) : "–";
                double? mine = ours.TryGetValue(k, out var m) ? m : null, ref_ = theirs is not null && theirs.TryGetValue(k, out var t) ? t : null;
                var ratio = mine is { } x && ref_ is { } y && y > 0 ? (x / y).ToString("F2", CultureInfo.InvariantCulture) : "–";
                o.WriteLine($"| {k} | {F(mine)} | {F(ref_)} | {ratio} |");
            }
            o.Flush();
        }
        return ExitCodes.Ok;
    }

    internal static (double[] Ms, string Version, IReadOnlyDictionary<string, double>? ByModule) RunReference(string python, string arch, BenchMode mode, int batch, int size, int threads, int repeats,
        bool channelsLast, bool byModule = false)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var s in new[] { Script, "--arch", arch, "--mode", mode.ToString().ToLowerInvariant(), "--batch", $"{batch}", "--size", $"{size}",
                     "--threads", $"{threads}", "--warmup", "2", "--repeats", $"{repeats}" })
            psi.ArgumentList.Add(s);
        if (channelsLast) psi.ArgumentList.Add("--channels-last");
        if (byModule) psi.ArgumentList.Add("--by-module");
        // The reference must not inherit a thread cap meant for this process.
        psi.Environment.Remove("OMP_NUM_THREADS");
        // With Debian's OpenBLAS as the BLAS provider, GEMMs run on OpenBLAS's own pool: give it the same count.
        psi.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        Process? started;
        try { started = Process.Start(psi); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ReferenceFailedException($"could not start the PyTorch reference '{python}': {e.Message}. " + InstallHint);
        }
        using var p = started ?? throw new ReferenceFailedException($"could not start {python}");
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            // The traceback's last line names the cause (a missing module, an unknown architecture).
            var cause = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";
            throw new ReferenceFailedException($"the PyTorch reference ({python}) failed with exit code {p.ExitCode}: {cause}. " + InstallHint);
        }
        using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var blas = doc.RootElement.TryGetProperty("blas", out var b) ? b.GetString() : null;
        var modules = doc.RootElement.TryGetProperty("by_module", out var bm)
            ? bm.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble())
            : null;
        return (doc.RootElement.GetProperty("ms").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
                $"{doc.RootElement.GetProperty("torch").GetString() ?? "?"}, BLAS {blas ?? "unknown"}", modules);
    }

    const string InstallHint =
        "The CPU reference is Debian's PyTorch: apt-get install python3-torch python3-torchvision libopenblas0-pthread; " +
        "or pass --reference none to time TorchSharp alone.";

    internal sealed class ReferenceFailedException(string message) : Exception(message);
}
