using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Pretraining;
using ModelZoo.Torch.Training;
using TorchSharp;

namespace ModelZoo.Cli.Studies;

/// <summary>
/// Few-shot on classes the backbones never saw: 5-way 1-shot and 5-shot episodes on Fashion-MNIST's official test set
/// (garments; the house backbones learnt glyphs), scored by the nearest prototype and by a linear head on the same
/// shots and queries (<see cref="FewShotEpisodes"/>), each with the mean's 95 % interval over the episodes. The same
/// architecture with random weights shows what the pretraining adds.
/// </summary>
public static class FewShotStudy
{
    public const int Episodes = 600, Queries = 15, Size = 32;

    public static Study Create() => new("few-shot", "Few-shot: 5-way episodes on Fashion-MNIST from glyph-pretrained backbones",
        "How well do prototypes from glyph-pretrained features classify garments from 1 or 5 examples, against a linear head on the same shots?",
        [FashionMnistDataset.Id], [])
    {
        Custom = RunAsync,
    };

    static Task<IReadOnlyList<StudyResult>> RunAsync(StudyContext context, int[] seeds, TextWriter output, CancellationToken ct) => Task.Run(() =>
    {
        var catalog = context.Get<ZooCatalog>();
        var registry = context.Get<ArchitectureRegistry>();
        var data = context.Get<DatasetStore>().Load(FashionMnistDataset.Id);
        var images = data.Images ?? throw new InvalidOperationException("Fashion-MNIST holds no images.");
        var results = new List<StudyResult>();
        foreach (var (entryId, pretrained) in new[] { (Studies.ResNet, true), (Studies.ResNet, false), (Studies.MobileNet, true) })
        {
            var manifest = catalog.ManifestOf(entryId) ?? throw new InvalidOperationException($"'{entryId}' is not in the catalogue.");
            var weights = catalog.StartingWeightsOf(manifest) ?? throw new InvalidOperationException($"'{entryId}' has no bundled weights.");
            // Random weights are the same architecture and head built with the study's seed: the pretraining's share.
            using var model = pretrained ? HousePretrainer.LoadStrict(registry, manifest, weights.Path)
                : TorchRuntime.BuildSeeded(seeds[0], () => registry.Create(manifest.Architecture, ArchitectureOptions.Of(manifest)));
            model.to(TorchRuntime.Device);
            using var source = ImagePipeline.Create(images, data.Info, manifest.Preprocessing, Size, TorchRuntime.Device, new PipelineOptions(), ct,
                meanImagePath: catalog.MeanImagePathOf(manifest));
            var backbone = $"{(entryId == Studies.ResNet ? "ResNet-18" : "MobileNetV2")} {(pretrained ? "glyph-pretrained" : "random weights")}";
            foreach (var shots in new[] { 1, 5 })
                foreach (var seed in seeds)
                {
                    var spec = new EpisodeSpec(Ways: 5, Shots: shots, Queries: Queries, Episodes: Episodes, Seed: seed);
                    var report = FewShotEpisodes.Run(model, source, data.Split.Test, images.Labels, Enumerable.Range(0, data.Info.ClassNames.Count), spec, TorchRuntime.Device, ct);
                    var group = $"{backbone}, 5-way {shots}-shot";
                    output.WriteLine($"{group} (seed {seed}): prototypes {report.Prototype}, linear head {report.Linear}; " +
                                     $"embedded {report.EmbeddedExamples:N0} images in {report.EmbedSeconds:0.0} s");
                    foreach (var (arm, mean) in new[] { ("nearest prototype", report.Prototype), ("linear head (same shots)", report.Linear) })
                        results.Add(new StudyResult
                        {
                            Study = "few-shot", Group = group, Arm = arm, Seed = seed, TestAccuracy = mean.Mean, BestValAccuracy = 0,
                            Interval95 = mean.HalfWidth, Episodes = mean.Count, TrainSeconds = report.EmbedSeconds + report.PrototypeSeconds + report.LinearSeconds,
                            Device = TorchRuntime.DeviceDescription, FinishedAt = DateTimeOffset.UtcNow,
                        });
                }
        }
        return (IReadOnlyList<StudyResult>)results;
    }, ct);
}
