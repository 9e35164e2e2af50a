using System.CommandLine;
using System.Diagnostics;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Benchmarks;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using static ModelZoo.Cli.Benchmarks.StrategyBenchCommand;
using static TorchSharp.torch;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench features</c>: the feature-extraction strategy's two halves.
/// <list type="bullet">
/// <item><c>--mode head</c> (default): a linear head trained for <c>--epochs</c> on <c>--examples</c> cached features
/// through the real loop. A synthetic image dataset is stored in a temp data folder; a first run fills the feature
/// cache (backbone at <c>--size</c>, which only sets how long that first pass takes); then, interleaved per round,
/// the parts of the cost: the <see cref="FeatureBatchSource"/> stream alone (a random table of the same shape), the
/// head's bare step (<see cref="StrategyBenchmark.BareStep"/>), and whole runs through <see cref="Trainer"/> with the
/// events dropped and with the real recorder (SQLite).</item>
/// <item><c>--mode backbone</c>: the cache's first pass (images/s through the frozen backbone, evaluation batches of
/// 256, from the image pipeline to rows in memory) against the same model alone in TorchSharp and against PyTorch's
/// inference (<c>pytorch_reference.py --mode inference --batch 256</c>), same architecture, size and threads,
/// interleaved per round.</item>
/// <item><c>--mode ops</c>: the head step's tensor calls one by one (<see cref="HeadStepOps"/>), median microseconds
/// per call over interleaved rounds, and what the whole step costs over <c>--examples</c> x <c>--epochs</c>.</item>
/// </list>
/// </summary>
public static class FeatureBenchCommand
{
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { DefaultValueFactory = _ => "head" }.AcceptOnlyFromAmong("head", "backbone", "ops");
        var arch = new Option<string>("--arch") { DefaultValueFactory = _ => "resnet18" };
        var examples = new Option<int>("--examples") { Description = "Training examples (head) or images through the backbone (backbone).", DefaultValueFactory = _ => 0 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 10 };
        var batch = new Option<int>("--batch") { Description = "The head's batch size (head mode).", DefaultValueFactory = _ => 64 };
        var size = new Option<int>("--size") { Description = "Image side: head mode 16 (the first pass only), backbone mode 64.", DefaultValueFactory = _ => 0 };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        var reference = new Option<string>("--reference")
        {
            Description = "Python with torch and torchvision (backbone mode), or 'none'.",
            DefaultValueFactory = _ => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3",
        };
        var cmd = new Command("features", "Feature extraction: the head on cached features through the real loop, or the backbone's first pass against PyTorch.")
        {
            mode, arch, examples, epochs, batch, size, rounds, threads, reference,
        };
        cmd.SetAction(async (r, ct) =>
        {
            var o = r.InvocationConfiguration.Output;
            try
            {
                var model = $"{r.GetValue(arch)}.tv_in1k";
                if (r.GetValue(mode) == "ops")
                    return Ops(o, r.GetValue(examples) is > 0 and var n2 ? n2 : 60_000, r.GetValue(epochs), r.GetValue(batch), r.GetValue(rounds), r.GetValue(threads));
                return r.GetValue(mode) == "backbone"
                    ? await BackboneAsync(o, model, r.GetValue(arch)!, r.GetValue(examples) is > 0 and var n ? n : 1024, r.GetValue(size) is > 0 and var s ? s : 64,
                        r.GetValue(rounds), r.GetValue(threads), r.GetValue(reference)!)
                    : await HeadAsync(o, model, r.GetValue(examples) is > 0 and var e ? e : 60_000, r.GetValue(epochs), r.GetValue(batch),
                        r.GetValue(size) is > 0 and var s2 ? s2 : 16, r.GetValue(rounds), r.GetValue(threads));
            }
            catch (ArgumentException e)
            {
                r.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.BadInput;
            }
            catch (BenchCommands.ReferenceFailedException e)
            {
                r.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Failed;
            }
        });
        return cmd;
    }

    static int Ops(TextWriter o, int examples, int epochs, int batch, int rounds, int threads)
    {
        const int Width = 512, Classes = 10, Repeats = 2000;
        TorchRuntime.Initialise(new TorchOptions { Threads = threads });
        o.WriteLine($"head step calls at batch {batch}, {Width} features, {Classes} classes; {Repeats} repeats per call per round, {rounds} interleaved rounds, " +
                    $"torch threads {get_num_threads()}, {Environment.ProcessorCount} cores, {TorchRuntime.SoftwareVersions}");
        o.WriteLine($"load average at start: {Load()}");
        var timings = HeadStepOps.Measure(batch, Width, Classes, Repeats, rounds);
        o.WriteLine();
        o.WriteLine("| call | median us | per round |");
        o.WriteLine("| --- | --- | --- |");
        foreach (var t in timings)
            o.WriteLine($"| {t.Call} | {F(t.Median, "F1")} | {string.Join(" ", t.Microseconds.Select(x => F(x, "F1")))} |");
        long steps = (long)(examples + batch - 1) / batch * epochs;
        o.WriteLine();
        o.WriteLine($"whole step x {steps:N0} steps ({epochs} epochs of {examples:N0}): {F(timings[^1].Median * steps / 1e6, "F2")} s");
        o.WriteLine($"load average at end: {Load()}");
        return 0;
    }

    static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    static async Task<int> HeadAsync(TextWriter o, string modelId, int examples, int epochs, int batch, int size, int rounds, int threads)
    {
        const int Eval = 1000;
        await using var portal = await BenchPortal.StartAsync(threads, worker: false);
        portal.WriteImages("bench-features", examples, Eval, Eval, size);
        var request = new RunRequest
        {
            ModelId = modelId, DatasetId = "bench-features", Strategy = "feature-extraction",
            HyperParameters = new HyperParameters { Epochs = epochs, BatchSize = batch, ImageSize = size, Augment = false, Seed = 1 },
        };
        int stepsPerEpoch = (examples + batch - 1) / batch, steps = stepsPerEpoch * epochs;
        o.WriteLine($"model {modelId}, feature extraction on cached features: {examples:N0} training examples, {Eval:N0} validation and test each, " +
                    $"batch {batch} ({stepsPerEpoch} steps per epoch, {steps:N0} steps), {epochs} epochs, {rounds} interleaved rounds, " +
                    $"torch threads {get_num_threads()}, {Environment.ProcessorCount} cores, {TorchRuntime.SoftwareVersions}");
        o.WriteLine($"load average at start: {Load()}");
        var sw = Stopwatch.StartNew();
        var first = portal.Train(await portal.LaunchAsync(request), StrategyBenchmark.NoProgress.Instance);
        o.WriteLine($"first run (fills the cache): {F(sw.Elapsed.TotalSeconds)} s; " +
                    string.Join("; ", first.Result.StrategyFacts.Select(f => $"{f.Label}: {f.Value}")));
        o.Flush();
        var job = portal.Job(await portal.LaunchAsync(request));
        var cpu = CpuUsage.Start();
        var recorder = portal.Get<RunEventRecorder>();
        var cols = new Dictionary<string, List<double>>();
        void Add(string k, double v) { if (!cols.TryGetValue(k, out var l)) cols[k] = l = []; l.Add(v); }
        for (int round = 0; round < rounds; round++)
        {
            Add("stream", StreamSeconds(examples, 512, batch, epochs));
            var bare = StrategyBenchmark.BareStep(job, warmup: 20, steps: Math.Min(steps, 500), portal.Get<IWeightsInitializer>(), portal.Get<PipelineOptions>());
            Add("bare", ModelBenchmark.Median(bare.Milliseconds) * steps / 1000);
            foreach (var (name, recorded) in new[] { ("none", false), ("recorder", true) })
            {
                var id = await portal.LaunchAsync(request);
                var progress = new ObservedProgress(recorded ? recorder.ProgressFor(id) : StrategyBenchmark.NoProgress.Instance);
                var wall = Stopwatch.StartNew();
                var outcome = portal.Train(id, progress);
                var w = wall.Elapsed.TotalSeconds;
                var stepSeconds = (double)outcome.Result.TrainExamples * epochs / outcome.Result.ExamplesPerSecond;
                Add($"steps-{name}", stepSeconds);
                Add($"epochs-{name}", progress.EpochSeconds);
                Add($"wall-{name}", w);
                o.WriteLine($"  round {round + 1}, events {name}: steps {F(stepSeconds, "F2")} s, epochs (with validation) {F(progress.EpochSeconds, "F2")} s, " +
                            $"whole Train() {F(w, "F2")} s, val acc {F(outcome.Result.BestValAccuracy, "F3")}");
                o.Flush();
            }
            o.WriteLine($"  round {round + 1}: stream alone {F(cols["stream"][^1], "F2")} s, bare steps {F(cols["bare"][^1], "F2")} s");
        }
        string Row(string label, string key) =>
            $"| {label} | {F(ModelBenchmark.Median(cols[key]), "F2")} | {string.Join(" ", cols[key].Select(x => F(x, "F2")))} |";
        o.WriteLine();
        o.WriteLine($"{epochs} epochs of {examples:N0} cached 512-wide features at batch {batch} ({steps:N0} steps):");
        o.WriteLine();
        o.WriteLine("| measure | median s | per round |");
        o.WriteLine("| --- | --- | --- |");
        o.WriteLine(Row("FeatureBatchSource stream alone (batches taken and dropped)", "stream"));
        o.WriteLine(Row("bare head step x steps (no data, no events)", "bare"));
        o.WriteLine(Row("whole run, events dropped: steps", "steps-none"));
        o.WriteLine(Row("whole run, events dropped: epochs incl. validation", "epochs-none"));
        o.WriteLine(Row("whole run, events dropped: Train() wall (set-up, checkpoints, test)", "wall-none"));
        o.WriteLine(Row("whole run, real recorder: steps", "steps-recorder"));
        o.WriteLine(Row("whole run, real recorder: epochs incl. validation", "epochs-recorder"));
        o.WriteLine(Row("whole run, real recorder: Train() wall (set-up, checkpoints, test)", "wall-recorder"));
        o.WriteLine();
        o.WriteLine($"load average at end: {Load()}; other processes took {(cpu.OtherPercent() is { } p ? F(p, "F0") + " %" : "n/a")} of the machine's CPU meanwhile");
        return ExitCodes.Ok;
    }

    /// <summary>Seconds to take every batch of <paramref name="epochs"/> shuffled epochs from a
    /// <see cref="FeatureBatchSource"/> over a random table, dropping them: the data side of the loop alone.</summary>
    internal static double StreamSeconds(int rows, int width, int batch, int epochs)
    {
        using var features = randn(rows, width, device: CPU);
        using var table = new FeatureTable(features, Enumerable.Range(0, rows).ToDictionary(i => i, i => i));
        var labels = Enumerable.Range(0, rows).Select(i => i % 10).ToArray();
        using var source = new FeatureBatchSource(table, labels, CPU);
        var all = Enumerable.Range(0, rows).ToArray();
        var sw = Stopwatch.StartNew();
        for (int e = 1; e <= epochs; e++)
        {
            using var batches = source.Train(TrainingSelection.EpochOrder(all, 1, e), batch, e, 1, false, CancellationToken.None);
            for (int b = 0; b < batches.Count; b++) batches.Next().Dispose();
        }
        return sw.Elapsed.TotalSeconds;
    }

    static async Task<int> BackboneAsync(TextWriter o, string modelId, string arch, int images, int size, int rounds, int threads, string python)
    {
        const int Batch = 256;
        await using var portal = await BenchPortal.StartAsync(threads, worker: false);
        portal.WriteImages("bench-backbone", images, 0, 0, size);
        var job = portal.Job(await portal.LaunchAsync(new RunRequest
        {
            ModelId = modelId, DatasetId = "bench-backbone", Strategy = "feature-extraction",
            HyperParameters = new HyperParameters { ImageSize = size, Augment = false, Seed = 1 },
        }));
        var t = get_num_threads();
        int repeats = Math.Max(1, images / Batch);
        o.WriteLine($"{arch} at {size}x{size}, batch {Batch}, {images} images per extraction pass, {repeats} timed reference iterations per round, " +
                    $"{rounds} interleaved rounds (extraction, model alone, PyTorch), torch threads {t}, {Environment.ProcessorCount} cores, {TorchRuntime.SoftwareVersions}");
        o.WriteLine($"load average at start: {Load()}");
        o.Flush();
        var cpu = CpuUsage.Start();
        // The pipeline's resize cache is built once, before timing, as a run's first pass would find it after an upload.
        StrategyBenchmark.ExtractionPass(job, portal.Get<IWeightsInitializer>(), portal.Get<PipelineOptions>());
        var ours = new List<double>(); var alone = new List<double>(); var theirs = new List<double>(); var ratios = new List<double>();
        string? version = null;
        for (int round = 0; round < rounds; round++)
        {
            var x = StrategyBenchmark.ExtractionPass(job, portal.Get<IWeightsInitializer>(), portal.Get<PipelineOptions>());
            var a = Batch * 1000 / ModelBenchmark.Median(ModelBenchmark.Measure(new BenchSpec(arch, BenchMode.Inference, Batch, size, t, Warmup: 1, Repeats: repeats)));
            double p = double.NaN;
            if (python != "none")
            {
                var (ms, v, _) = BenchCommands.RunReference(python, arch, BenchMode.Inference, Batch, size, t, repeats, channelsLast: false);
                p = Batch * 1000 / ModelBenchmark.Median(ms);
                version = v;
            }
            ours.Add(x); alone.Add(a); theirs.Add(p); ratios.Add(x / p);
            o.WriteLine($"  round {round + 1}: extraction {F(x)} img/s, model alone {F(a)} img/s, PyTorch {F(p)} img/s");
            o.Flush();
        }
        double mo = ModelBenchmark.Median(ours), ma = ModelBenchmark.Median(alone), mp = ModelBenchmark.Median(theirs);
        o.WriteLine();
        o.WriteLine("| architecture | input | threads | extraction pass img/s | TorchSharp model alone img/s | PyTorch img/s | ratio extraction/PyTorch | per-round ratios |");
        o.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        o.WriteLine($"| {arch} | {size} | {t} | {F(mo)} | {F(ma)} | {F(mp)} | {F(mo / mp, "F3")} | {string.Join(" ", ratios.Select(r => F(r, "F2")))} |");
        o.WriteLine();
        if (version is not null) o.WriteLine($"reference: PyTorch {version} ({python})");
        o.WriteLine($"load average at end: {Load()}; other processes took {(cpu.OtherPercent() is { } q ? F(q, "F0") + " %" : "n/a")} of the machine's CPU meanwhile");
        return ExitCodes.Ok;
    }
}
