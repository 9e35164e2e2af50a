using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Torch.Benchmarks;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench strategies [--arch resnet18] [--batch 32] [--size 64] [--rounds 3] [--images 2048] [--steps 10]
/// [--strategies scratch,feature-extraction,partial-fine-tune,full-fine-tune]</c>: per strategy, a whole run's
/// examples/s against the strategy's bare step, measured side by side, interleaved round by round (bare, whole, bare,
/// whole). The whole side is a real run through <see cref="Trainer"/> on a synthetic dataset stored in a temp data
/// folder, recording its events through the real recorder into SQLite; its <c>RunResult.ExamplesPerSecond</c> counts
/// the steps' time with data waits and event queueing, without evaluation. The bare side is
/// <see cref="StrategyBenchmark.BareStep"/>: the same strategy, prepared the same way, repeating one batch.
/// Feature extraction appears twice: on cached features (augmentation off, the head alone trains) and per step
/// (augmentation on: the frozen backbone runs at every step).
/// </summary>
public static class StrategyBenchCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "Architecture; the run uses its catalogue entry <arch>.tv_in1k (or --model).", DefaultValueFactory = _ => "resnet18" };
        var model = new Option<string?>("--model") { Description = "A catalogue entry id instead of <arch>.tv_in1k." };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 32 };
        var size = new Option<int>("--size") { Description = "Image side: stored and trained at this size.", DefaultValueFactory = _ => 64 };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 3 };
        var images = new Option<int>("--images") { Description = "Training images of the synthetic dataset (one epoch of the whole run).", DefaultValueFactory = _ => 2048 };
        var evalImages = new Option<int>("--eval-images") { Description = "Validation and test images each (evaluation is not timed).", DefaultValueFactory = _ => 256 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs of each whole run.", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Timed bare steps per round (after 2 warm-up steps).", DefaultValueFactory = _ => 10 };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        var list = new Option<string>("--strategies")
        {
            Description = "Comma-separated strategy ids (feature-extraction gives two rows: cached and per step).",
            DefaultValueFactory = _ => "scratch,feature-extraction,partial-fine-tune,full-fine-tune",
        };
        var cmd = new Command("strategies", "A whole run's examples/s against the strategy's bare step, per strategy, interleaved.")
        {
            arch, model, batch, size, rounds, images, evalImages, epochs, steps, threads, list,
        };
        cmd.SetAction(async (r, ct) =>
        {
            var o = r.InvocationConfiguration.Output;
            try
            {
                return await RunAsync(o, r.GetValue(model) ?? $"{r.GetValue(arch)}.tv_in1k", r.GetValue(batch), r.GetValue(size), r.GetValue(rounds),
                    r.GetValue(images), r.GetValue(evalImages), r.GetValue(epochs), r.GetValue(steps), r.GetValue(threads),
                    r.GetValue(list)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            catch (ArgumentException e)
            {
                r.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.BadInput;
            }
        });
        return cmd;
    }

    /// <summary>One row of the table: a strategy in one form (feature extraction cached or per step).</summary>
    sealed record Arm(string Label, string Strategy, bool Augment);

    static IEnumerable<Arm> ArmsOf(string id) => id switch
    {
        "feature-extraction" =>
        [
            new("feature-extraction (cached features)", id, Augment: false),
            new("feature-extraction (per step, augmented)", id, Augment: true),
        ],
        _ => [new(id, id, Augment: true)],
    };

    internal static string F(double v, string format = "F1") => v.ToString(format, CultureInfo.InvariantCulture);

    static async Task<int> RunAsync(TextWriter o, string modelId, int batch, int size, int rounds, int images, int evalImages, int epochs, int steps,
        int threads, string[] strategyIds)
    {
        if (rounds < 1 || steps < 1 || images < batch || epochs < 1) throw new ArgumentException("--rounds, --steps and --epochs must be at least 1 and --images at least --batch.");
        await using var portal = await BenchPortal.StartAsync(threads, worker: false);
        var registry = portal.Get<StrategyRegistry>();
        var arms = new List<Arm>();
        foreach (var id in strategyIds)
        {
            var d = registry.Find(id) ?? throw new ArgumentException($"Strategy '{id}' is not registered. Known: {string.Join(", ", registry.All.Select(s => s.Id))}.");
            if (d.Info.NeedsTarget) { o.WriteLine($"skipped {d.Id}: it needs a target dataset (domain adaptation), which this benchmark does not build."); continue; }
            arms.AddRange(ArmsOf(d.Id));
        }
        portal.WriteImages("bench-strategies", images, evalImages, evalImages, size);
        var cpu = CpuUsage.Start();
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        o.WriteLine($"model {modelId}, batch {batch}, input {size}x{size}, {images} training images x {epochs} epoch(s) per whole run, " +
                    $"{steps} bare steps per round, {rounds} interleaved rounds (bare, whole), torch threads {TorchSharp.torch.get_num_threads()}, " +
                    $"loader workers {portal.Get<PipelineOptions>().ResolvedWorkers}, {Environment.ProcessorCount} cores, {TorchRuntime.SoftwareVersions}");
        o.WriteLine($"load average at start: {load}");
        o.Flush();

        var rows = new List<string>();
        foreach (var arm in arms)
        {
            var request = new RunRequest
            {
                ModelId = modelId, DatasetId = "bench-strategies", Strategy = arm.Strategy,
                HyperParameters = new HyperParameters { Epochs = epochs, BatchSize = batch, ImageSize = size, Augment = arm.Augment, Seed = 1 },
            };
            var bareJob = portal.Job(await portal.LaunchAsync(request));
            var bare = new List<double>(); var whole = new List<double>(); var ratios = new List<double>();
            string stream = "";
            for (int round = 0; round < rounds; round++)
            {
                var b = StrategyBenchmark.BareStep(bareJob, warmup: 2, steps, portal.Get<IWeightsInitializer>(), portal.Get<PipelineOptions>());
                stream = $"{b.Stream} [{string.Join("x", b.InputShape)}]";
                var bareRate = b.BatchSize * 1000 / ModelBenchmark.Median(b.Milliseconds);
                var outcome = portal.Train(await portal.LaunchAsync(request));
                var wholeRate = outcome.Result.ExamplesPerSecond;
                bare.Add(bareRate); whole.Add(wholeRate); ratios.Add(wholeRate / bareRate);
                o.WriteLine($"  {arm.Label} round {round + 1}: bare {F(bareRate)} examples/s, whole {F(wholeRate)} examples/s, ratio {F(wholeRate / bareRate, "F3")}");
                o.Flush();
            }
            double mb = ModelBenchmark.Median(bare), mw = ModelBenchmark.Median(whole);
            rows.Add($"| {arm.Label} | {stream} | {F(mb)} | {F(mw)} | {F(mw / mb, "F3")} | {string.Join(" ", ratios.Select(x => F(x, "F2")))} |");
        }
        o.WriteLine();
        o.WriteLine("| strategy | step's batch | bare step examples/s (median) | whole run examples/s (median) | ratio whole/bare | per-round ratios |");
        o.WriteLine("| --- | --- | --- | --- | --- | --- |");
        rows.ForEach(o.WriteLine);
        o.WriteLine();
        o.WriteLine($"load average at end: {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}; " +
                    $"other processes took {(cpu.OtherPercent() is { } p ? F(p, "F0") + " %" : "n/a")} of the machine's CPU meanwhile");
        return ExitCodes.Ok;
    }
}
