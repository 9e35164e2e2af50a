using System.CommandLine;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Benchmarks;
using ModelZoo.Torch.Native;
using static ModelZoo.Cli.Benchmarks.StrategyBenchCommand;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench memory</c>: does the process's memory stay flat?
/// <list type="bullet">
/// <item><c>--mode epochs</c> (default): one long run per strategy (30 epochs of a small synthetic dataset) trained
/// through <see cref="ModelZoo.Torch.Training.Trainer"/> with the real event path; the memory after every epoch, and
/// the change from epoch 2 to the last.</item>
/// <item><c>--mode runs</c>: the portal's services with the real <see cref="RunWorker"/> in this process; small runs
/// launched one after the other as a user would (cycling over the strategies), the memory after each, and the change
/// from run 1 to the last.</item>
/// </list>
/// Each row splits the resident size so a leak can be told from a cache and from the allocator
/// (<see cref="MemoryProbe"/>): the managed heap, glibc's bytes in use by live allocations, and glibc's free bytes
/// kept in its arenas.
/// </summary>
public static class MemoryBenchCommand
{
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { DefaultValueFactory = _ => "epochs" }.AcceptOnlyFromAmong("epochs", "runs");
        var arch = new Option<string>("--arch") { DefaultValueFactory = _ => "resnet18" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs per run: 30 in epochs mode, 2 in runs mode.", DefaultValueFactory = _ => 0 };
        var runs = new Option<int>("--runs") { Description = "Runs in runs mode.", DefaultValueFactory = _ => 20 };
        var images = new Option<int>("--images") { Description = "Training images of the synthetic dataset.", DefaultValueFactory = _ => 512 };
        var size = new Option<int>("--size") { Description = "Image side the runs train at (0: the model's own, 224 for ResNet-18).", DefaultValueFactory = _ => 32 };
        var stored = new Option<int>("--stored") { Description = "Image side stored in the dataset (0: --size; 28 with --grey is MNIST-like).", DefaultValueFactory = _ => 0 };
        var grey = new Option<bool>("--grey") { Description = "Store grey images (one channel), as the digit datasets are." };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 32 };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        var noAugment = new Option<bool>("--no-augment") { Description = "Train without augmentation (feature extraction then trains on cached features)." };
        var trim = new Option<bool>("--trim") { Description = "Runs mode: also give glibc's free memory back (malloc_trim) after each run and measure again." };
        var list = new Option<string>("--strategies")
        {
            Description = "Comma-separated strategy ids; epochs mode runs each once, runs mode cycles over them.",
            DefaultValueFactory = _ => "feature-extraction,full-fine-tune",
        };
        var cmd = new Command("memory", "Resident memory across epochs of one run, or across consecutive runs through the worker.")
        {
            mode, arch, epochs, runs, images, size, stored, grey, batch, threads, noAugment, trim, list,
        };
        cmd.SetAction(async (r, ct) =>
        {
            var o = r.InvocationConfiguration.Output;
            var strategies = r.GetValue(list)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var request = new RunRequest
            {
                ModelId = $"{r.GetValue(arch)}.tv_in1k", DatasetId = "bench-memory",
                HyperParameters = new HyperParameters { BatchSize = r.GetValue(batch), ImageSize = r.GetValue(size), Augment = !r.GetValue(noAugment), Seed = 1 },
            };
            var storedSide = r.GetValue(stored) is > 0 and var st ? st : r.GetValue(size) is > 0 and var sz ? sz : 224;
            var data = new DataShape(r.GetValue(images), storedSide, r.GetValue(grey) ? 1 : 3);
            try
            {
                return r.GetValue(mode) == "runs"
                    ? await RunsAsync(o, request with { HyperParameters = request.HyperParameters with { Epochs = r.GetValue(epochs) is > 0 and var e ? e : 2 } },
                        strategies, r.GetValue(runs), data, r.GetValue(threads), r.GetValue(trim))
                    : await EpochsAsync(o, request with { HyperParameters = request.HyperParameters with { Epochs = r.GetValue(epochs) is > 0 and var e2 ? e2 : 30 } },
                        strategies, data, r.GetValue(threads));
            }
            catch (ArgumentException e)
            {
                r.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.BadInput;
            }
        });
        return cmd;
    }

    /// <summary>The synthetic dataset: training images (a quarter as many for validation and test each, at least 32),
    /// their stored side and channels.</summary>
    sealed record DataShape(int Images, int Side, int Channels)
    {
        public int Eval => Math.Max(32, Images / 4);
        public override string ToString() => $"{Images} training images stored {Side}x{Side}x{Channels}";
    }

    static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    static string M(long bytes) => F(MemorySample.MiB(bytes), "F0");

    const string Header = "RSS MiB | anonymous MiB | managed heap MiB | malloc in use MiB | malloc free in arenas MiB | threads";
    const string HeaderRule = "--- | --- | --- | --- | --- | ---";

    static string Cells(MemorySample s) =>
        $"{M(s.Rss)} | {M(s.RssAnon)} | {F(MemorySample.MiB(s.ManagedHeap))} | {M(s.MallocInUse)} | {M(s.MallocFree)} | {s.Threads}";

    static double Change(long from, long to) => 100.0 * (to - from) / from;

    static string Changes(MemorySample a, MemorySample b) =>
        $"RSS {M(a.Rss)} -> {M(b.Rss)} MiB ({F(Change(a.Rss, b.Rss), "+0.0;-0.0")} %), malloc in use {M(a.MallocInUse)} -> {M(b.MallocInUse)} MiB, " +
        $"malloc free {M(a.MallocFree)} -> {M(b.MallocFree)} MiB, managed heap {F(MemorySample.MiB(a.ManagedHeap))} -> {F(MemorySample.MiB(b.ManagedHeap))} MiB";

    static string Environment_() =>
        $"MALLOC_ARENA_MAX={Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") ?? "(unset)"}, " +
        $"{(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, torch threads {TorchSharp.torch.get_num_threads()}, " +
        $"{Environment.ProcessorCount} cores, {TorchRuntime.SoftwareVersions}";

    static async Task<int> EpochsAsync(TextWriter o, RunRequest request, string[] strategies, DataShape data, int threads)
    {
        await using var portal = await BenchPortal.StartAsync(threads, worker: false);
        portal.WriteImages("bench-memory", data.Images, data.Eval, data.Eval, data.Side, data.Channels);
        var h = request.HyperParameters;
        o.WriteLine($"model {request.ModelId}, {data}, trained at {(h.ImageSize > 0 ? h.ImageSize : "the model's size")}, batch {h.BatchSize}, {h.Epochs} epochs, augmentation {(h.Augment ? "on" : "off")}, " +
                    $"events through the real recorder (SQLite); {Environment_()}");
        o.WriteLine($"load average at start: {Load()}");
        var recorder = portal.Get<RunEventRecorder>();
        var summaries = new List<string>();
        foreach (var strategy in strategies)
        {
            var id = await portal.LaunchAsync(request with { Strategy = strategy });
            var samples = new List<MemorySample>();
            o.WriteLine();
            o.WriteLine($"{strategy}:");
            o.WriteLine();
            o.WriteLine($"| epoch | {Header} |");
            o.WriteLine($"| --- | {HeaderRule} |");
            portal.Train(id, new ObservedProgress(recorder.ProgressFor(id), e =>
            {
                var s = MemoryProbe.Take();
                samples.Add(s);
                o.WriteLine($"| {e.Epoch} | {Cells(s)} |");
                o.Flush();
            }));
            if (samples.Count >= 2)
                summaries.Add($"{strategy}: epoch 2 -> {samples.Count}: {Changes(samples[1], samples[^1])}");
        }
        o.WriteLine();
        summaries.ForEach(o.WriteLine);
        o.WriteLine($"load average at end: {Load()}");
        return ExitCodes.Ok;
    }

    static async Task<int> RunsAsync(TextWriter o, RunRequest request, string[] strategies, int runs, DataShape data, int threads, bool trim)
    {
        await using var portal = await BenchPortal.StartAsync(threads, worker: true);
        portal.WriteImages("bench-memory", data.Images, data.Eval, data.Eval, data.Side, data.Channels);
        var h = request.HyperParameters;
        o.WriteLine($"model {request.ModelId}, {runs} runs through the worker cycling over {string.Join(", ", strategies)}; {data}, " +
                    $"trained at {(h.ImageSize > 0 ? h.ImageSize : "the model's size")}, " +
                    $"batch {h.BatchSize}, {h.Epochs} epochs each, augmentation {(h.Augment ? "on" : "off")}; {Environment_()}");
        o.WriteLine($"load average at start: {Load()}");
        var start = MemoryProbe.Take();
        o.WriteLine($"before the first run: {Cells(start)}");
        o.WriteLine();
        o.WriteLine($"| run | strategy | status | seconds | {Header} |{(trim ? " after malloc_trim: RSS MiB | anonymous MiB | file-backed MiB | GC committed MiB |" : "")}");
        o.WriteLine($"| --- | --- | --- | --- | {HeaderRule} |{(trim ? " --- | --- | --- | --- |" : "")}");
        var samples = new List<MemorySample>();
        for (int i = 0; i < runs; i++)
        {
            var strategy = strategies[i % strategies.Length];
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var id = await portal.LaunchAsync(request with { Strategy = strategy, Name = $"memory {i + 1}" });
            var record = await portal.WaitAsync(id, TimeSpan.FromHours(1));
            var s = MemoryProbe.Take();
            samples.Add(s);
            var trimmed = "";
            if (trim)
            {
                NativeMemory.Trim();
                var t = MemoryProbe.Take();
                trimmed = $" {M(t.Rss)} | {M(t.RssAnon)} | {M(t.RssFile)} | {M(t.ManagedCommitted)} |";
            }
            o.WriteLine($"| {i + 1} | {strategy} | {record.Status}{(record.Error is { } err ? $": {err}" : "")} | {F(watch.Elapsed.TotalSeconds, "F0")} | {Cells(s)} |{trimmed}");
            o.Flush();
        }
        o.WriteLine();
        if (samples.Count >= 2) o.WriteLine($"run 1 -> {samples.Count}: {Changes(samples[0], samples[^1])}");
        o.WriteLine($"load average at end: {Load()}");
        return ExitCodes.Ok;
    }
}
