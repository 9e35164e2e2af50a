using TorchSharp;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>What a strategy sees of its run: the job, the model on its device, the labelled data's batches and
/// splits (after the label budget), the target domain's batches when the run has one, and the progress sink.</summary>
public sealed class RunContext
{
    public required TrainingJob Job { get; init; }
    public required ZooModel Model { get; init; }
    public required ArchitectureInfo Architecture { get; init; }
    public required Device Device { get; init; }
    public required IRunProgress Progress { get; init; }
    public required CancellationToken Cancellation { get; init; }
    public required PipelineOptions PipelineOptions { get; init; }
    /// <summary>The architectures the run's model was built from: strategies that need a second copy of it (a frozen
    /// earlier state, for Learning without Forgetting) build it here.</summary>
    public ArchitectureRegistry Registry { get; init; } = ArchitectureRegistry.Default;
    /// <summary>The options the model was built with (config, head shape), for a second copy of the same shape.</summary>
    public ArchitectureOptions? BuildOptions { get; init; }

    /// <summary>A frozen copy of the model as it stands now (same architecture, weights and buffers), in eval mode
    /// on the run's device, or a fresh copy to fill later with <see cref="CopyInto"/>.</summary>
    public ZooModel CopyOfModel()
    {
        var copy = Native.TorchRuntime.BuildSeeded(0, () =>
        {
            var m = Registry.Create(Architecture.Name, BuildOptions ?? new ArchitectureOptions());
            m.ResetClassifier(Classes);
            return m;
        });
        copy.to(Device);
        CopyInto(Model, copy);
        copy.eval();
        foreach (var p in copy.parameters()) p.requires_grad = false;
        return copy;
    }

    /// <summary>Copies every parameter and buffer of <paramref name="from"/> into <paramref name="to"/> (same shape).</summary>
    public static void CopyInto(nn.Module from, nn.Module to)
    {
        using var _ = no_grad();
        var target = to.state_dict();
        foreach (var (key, value) in from.state_dict()) target[key].copy_(value);
    }

    /// <summary>Batches of the labelled dataset (images or texts).</summary>
    public required IBatchSource Data { get; init; }
    /// <summary>The training examples the run may learn from: the stored training split after the training limit
    /// and the label budget.</summary>
    public required int[] TrainIndices { get; init; }
    /// <summary>The training split's examples that the label budget and the training limit left out: unlabelled for
    /// this run. Strategies that learn from unlabelled data read them through <see cref="IndexLabelledSource"/> only.</summary>
    public int[] UnlabelledIndices { get; init; } = [];
    public required int[] ValidationIndices { get; init; }
    public required int[] TestIndices { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    /// <summary>The target domain's batches, for strategies that adapt to one; its training labels are hidden (-1).</summary>
    public TargetData? Target { get; init; }

    /// <summary>Every task of the run, its own dataset first: one for single-task runs, the run's dataset and the
    /// further ones (<c>RunRequest.TaskDatasetIds</c>) for multitask and continual learning. Each task keeps its own
    /// classes, splits and training selection (the same training limit and label budget, seeded alike).</summary>
    public IReadOnlyList<TaskData> Tasks { get; init; } = [];

    /// <summary>Per-class loss weights (inverse frequency, mean 1) when the run balances its loss; else null.</summary>
    public Tensor? ClassWeights { get; init; }

    public HyperParameters Training => Job.Request.HyperParameters;
    public int Classes => ClassNames.Count;
    public Modality Modality => Architecture.Modality;

    /// <summary>The run's classification loss: cross-entropy with its label smoothing and class weights.</summary>
    public Tensor CrossEntropy(Tensor logits, Tensor labels) =>
        nn.functional.cross_entropy(logits, labels, weight: ClassWeights, label_smoothing: Training.LabelSmoothing);

    /// <summary>A progress line on the run page while the run is busy with something other than steps.</summary>
    public void Report(string message) => Progress.Status(new StatusChange(RunStatus.Running, message, TorchRuntime.DeviceDescription));
}

/// <summary>One task's data: its dataset, batches, the training examples the run learns from (after the training
/// limit and label budget), its validation and test splits, and its classes.</summary>
public sealed record TaskData(string DatasetId, IBatchSource Source, int[] Train, int[] Validation, int[] Test,
    IReadOnlyList<string> ClassNames, int[] Labels)
{
    public int Classes => ClassNames.Count;
}

/// <summary>A target domain's batches: its training split without labels, and its labelled validation and test
/// splits, which serve evaluation only.</summary>
public sealed record TargetData(IBatchSource Source, int[] Unlabelled, int[] Validation, int[] Test);
