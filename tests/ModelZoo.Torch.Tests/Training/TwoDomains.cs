using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>
/// A labelled source and a target with the same two classes but a systematic shift, for domain-adaptation tests: dark
/// (20-70) and bright (110-160) 8x8 images, and other images of the same classes brightened by 90 grey levels, so
/// the target's dark images look like the source's bright ones. Aligned as the worker aligns them
/// (<see cref="DomainAlignment"/>): the target's training labels are -1.
/// </summary>
internal sealed class TwoDomains
{
    public const int Shift = 90;

    public required LoadedDataset Source { get; init; }
    /// <summary>The target as training code sees it: training labels hidden.</summary>
    public required LoadedDataset Target { get; init; }
    /// <summary>The target's true labels, training split included, which only a test may look at.</summary>
    public required int[] TrueTargetLabels { get; init; }

    public static TwoDomains Make(int perClass = 60)
    {
        var source = Images("dark-bright", perClass, seed: 1, shift: 0);
        var target = Images("dark-bright-shifted", perClass, seed: 2, shift: Shift);
        var (alignedSource, hidden) = DomainAlignment.Align(source, target);
        return new TwoDomains { Source = alignedSource, Target = hidden, TrueTargetLabels = target.Images!.Labels };
    }

    static LoadedDataset Images(string id, int perClass, int seed, int shift)
    {
        var rng = new Random(seed);
        int n = perClass * 2, side = 8;
        var pixels = new byte[n * side * side];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 2;
            for (int p = 0; p < side * side; p++)
                pixels[i * side * side + p] = (byte)(shift + (labels[i] == 0 ? rng.Next(20, 71) : rng.Next(110, 161)));
        }
        var info = new DatasetInfo { Id = id, Title = id, ClassNames = ["dark", "bright"], Examples = n, Width = side, Height = side, Channels = 1 };
        var images = new ImageSet { Width = side, Height = side, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = info.ClassNames };
        return new LoadedDataset(info, images, StratifiedSplitter.Split(labels, 3, 0.2, 0.2));
    }

    /// <summary>A job on the aligned pair, as the worker would hand it to the trainer.</summary>
    public TrainingJob Job(HyperParameters h, string strategy, JsonObject? options = null) =>
        TrainerTests.Job(h, strategy, options) with { Data = Source, Target = Target };

    /// <summary>A run context around <paramref name="model"/> with real batch sources over both domains, as the
    /// trainer builds it, for tests that call a strategy's methods one by one.</summary>
    public Context Prepare(ZooModel model, TrainingJob job)
    {
        var data = BatchSources.For(job, Source, Modality.Image, model, TorchRuntime.Device, new PipelineOptions(), CancellationToken.None);
        var target = BatchSources.For(job, Target, Modality.Image, model, TorchRuntime.Device, new PipelineOptions(), CancellationToken.None);
        var run = new RunContext
        {
            Job = job, Model = model, Architecture = ArchitectureRegistry.Default.Get(model.Architecture), Device = TorchRuntime.Device,
            Progress = new TestRuns.Recorder(), Cancellation = CancellationToken.None, PipelineOptions = new PipelineOptions(),
            Data = data, TrainIndices = Source.Split.Train, ValidationIndices = Source.Split.Validation, TestIndices = Source.Split.Test,
            ClassNames = Source.Info.ClassNames,
            Target = new TargetData(target, Target.Split.Train, Target.Split.Validation, Target.Split.Test),
        };
        return new Context(run, data, target);
    }

    public sealed class Context(RunContext run, IBatchSource data, IBatchSource target) : IDisposable
    {
        public RunContext Run => run;
        public void Dispose() { data.Dispose(); target.Dispose(); }
    }
}
