using System.Diagnostics;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Benchmarks;

/// <summary>What to time: an N-way K-shot episode with Q queries per class at a square input size.</summary>
public sealed record FewShotBenchSpec(string Architecture, int Size, int Ways, int Shots, int Queries, int Rounds, int Threads);

/// <summary>Milliseconds of the first episode (libtorch's one-off kernel set-up included) and of each later one, whole
/// and split into embedding (pipeline and backbone), nearest-prototype scoring and the linear head's training and
/// scoring. A prototype episode, as the few-shot strategy runs it, is embedding plus prototypes.</summary>
public sealed record FewShotBenchResult(double BuildMs, double FirstEpisodeMs, double[] EpisodeMs, double[] EmbedMs, double[] PrototypeMs, double[] LinearMs, int ExamplesPerEpisode);

/// <summary>
/// "Results in seconds", measured: one few-shot episode end to end on the CPU, as the episode evaluator and the
/// prototype strategy run it: the episode's images (synthetic, one colour per class plus noise) through the image
/// pipeline (resize cache, centre crop, normalisation), the frozen backbone in eval mode, then nearest-prototype and
/// linear-head scoring. Weights are random: speed does not depend on their values.
/// </summary>
public static class FewShotBenchmark
{
    public static FewShotBenchResult Run(FewShotBenchSpec s) => ModelBenchmark.WithThreads(s.Threads, () =>
    {
        if (s.Rounds < 1) throw new ArgumentException("Run at least one timed round.");
        if (ArchitectureRegistry.Default.Get(s.Architecture).Modality != Modality.Image)
            throw new ArgumentException($"The few-shot benchmark feeds images; '{s.Architecture}' reads texts.");
        new EpisodeSpec(s.Ways, s.Shots, s.Queries, 1, 0).Validate();
        var perClass = s.Shots + s.Queries;
        var images = Synthetic(s.Ways, perClass, s.Size);
        var info = new DatasetInfo { Id = "fewshot-bench", Title = "Few-shot benchmark", ClassNames = images.ClassNames, Examples = images.Count, Width = s.Size, Height = s.Size, Channels = 3 };
        var cacheDir = Directory.CreateTempSubdirectory("modelzoo-fewshot-bench-").FullName;
        try
        {
            var build = Stopwatch.StartNew();
            using var model = TorchRuntime.BuildSeeded(0, () => ArchitectureRegistry.Default.Create(s.Architecture));
            var buildMs = build.Elapsed.TotalMilliseconds;
            using var pipeline = ImagePipeline.Create(images, info, new Preprocessing { InputSize = s.Size }, s.Size, CPU,
                new PipelineOptions { CacheDir = cacheDir });
            var all = Enumerable.Range(0, images.Count).ToArray();
            var classes = Enumerable.Range(0, s.Ways).ToArray();
            double first = 0;
            var total = new List<double>(); var embed = new List<double>(); var proto = new List<double>(); var linear = new List<double>();
            for (int r = 0; r <= s.Rounds; r++)
            {
                var sw = Stopwatch.StartNew();
                var report = FewShotEpisodes.Run(model, pipeline, all, images.Labels, classes, new EpisodeSpec(s.Ways, s.Shots, s.Queries, 1, Seed: r), CPU);
                var ms = sw.Elapsed.TotalMilliseconds;
                if (r == 0) { first = ms; continue; }
                total.Add(ms); embed.Add(report.EmbedSeconds * 1000); proto.Add(report.PrototypeSeconds * 1000); linear.Add(report.LinearSeconds * 1000);
            }
            return new FewShotBenchResult(buildMs, first, [.. total], [.. embed], [.. proto], [.. linear], s.Ways * perClass);
        }
        finally { Directory.Delete(cacheDir, recursive: true); }
    });

    /// <summary>RGB images whose class is a base colour, with uniform noise of ±40 per pixel.</summary>
    static ImageSet Synthetic(int classes, int perClass, int side)
    {
        var rng = new Random(7);
        int n = classes * perClass, bytes = 3 * side * side;
        var pixels = new byte[n * bytes];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % classes;
            for (int ch = 0; ch < 3; ch++)
            {
                var basis = (labels[i] * 97 + ch * 61) % 176 + 40;
                for (int p = 0; p < side * side; p++) pixels[i * bytes + ch * side * side + p] = (byte)Math.Clamp(basis + rng.Next(-40, 41), 0, 255);
            }
        }
        return new ImageSet { Width = side, Height = side, Channels = 3, Pixels = pixels, Labels = labels, ClassNames = Enumerable.Range(0, classes).Select(c => $"c{c}").ToList() };
    }
}
