using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Linear probe on a frozen backbone: the backbone stays in eval mode, so BatchNorm uses its running statistics and
/// the features are exactly those the weights define; only the new classifier learns. The backbone runs once per
/// example (<see cref="FeatureCache"/>) and the head trains on the cached features, unless augmentation makes every
/// epoch's training images new; then the training features are computed at each step, without a graph.
/// </summary>
public sealed class FeatureExtractionStrategy : TrainingStrategy<FeatureExtractionOptions>
{
    FeatureTable? _table;
    FeatureBatchSource? _features;
    FeatureCacheReport? _report;
    bool _perStep;

    public override void Setup(RunContext run)
    {
        foreach (var p in run.Model.BackboneParameters()) p.requires_grad = false;
        foreach (var p in run.Model.ClassifierParameters()) p.requires_grad = true;
        // A plan needs only what learns; the features are a pass over the data.
        if (run.Planning) return;
        // Augmented images differ every epoch, so their features cannot be cached; texts are never augmented.
        _perStep = run.Training.Augment && run.Modality == Modality.Image;
        var needed = run.ValidationIndices.Concat(run.TestIndices);
        if (!_perStep) needed = needed.Concat(run.TrainIndices);
        _table = FeatureCache.Fetch(run, run.Data, needed.ToArray(), out var report);
        _report = report;
        var labels = run.Job.Data.Images?.Labels ?? run.Job.Data.Texts!.Labels;
        _features = new FeatureBatchSource(_table, labels, run.Device);
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run) =>
        [new ParameterGroupSpec("head", run.Model.ClassifierParameters().ToList())];

    // eval() on the whole model: a linear classifier has no mode-dependent layers, and the backbone must not
    // update BatchNorm statistics.
    public override void BeginEpoch(RunContext run, int epoch) => run.Model.eval();

    public override IReadOnlyList<BatchStream> Streams(RunContext run) =>
        _perStep ? [BatchStream.Labelled(run)] : [new BatchStream("features", _features!, run.TrainIndices, Augment: false)];

    public override StepResult Step(RunContext run, StepInput input)
    {
        Tensor features;
        if (_perStep)
            using (no_grad()) features = run.Model.ForwardHead(run.Model.ForwardFeatures(input.Batch.X), preLogits: true);
        else features = input.Batch.X;
        var logits = run.Model.ForwardClassifier(features);
        return new StepResult(run.CrossEntropy(logits, input.Batch.Y), logits);
    }

    public override Tensor Predict(RunContext run, TrainingBatch batch) => run.Model.ForwardClassifier(batch.X);

    public override EvaluationSet Evaluation(RunContext run, Core.Datasets.DatasetSplit split) =>
        new(_features!, split == Core.Datasets.DatasetSplit.Validation ? run.ValidationIndices : run.TestIndices);

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        if (_report is not { } r) yield break;
        yield return new("Features", r.Describe());
        yield return new("Feature width", $"{_table!.Width} (the classifier's input)");
        if (_perStep) yield return new("Training features", "computed at every step from the augmented images (augmentation is on)");
    }

    public override void Dispose()
    {
        _table?.Dispose();
        base.Dispose();
    }
}
