using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Adaptive BatchNorm. Training is a full fine-tune on the labelled source (best source-validation epoch kept: source
/// labels only). <see cref="Finish"/> then measures the target test accuracy with the source's statistics, re-estimates
/// every BatchNorm layer's statistics on the target's unlabelled training images (<see cref="BatchNormStatistics"/>),
/// and measures it again; the loop's test is the target's test split.
/// </summary>
public sealed class AdaBnStrategy : TrainingStrategy<AdaBnOptions>
{
    BatchNormReestimation? _reestimation;
    EvaluationResult? _before, _after;

    /// <summary>What the re-estimation measured, once <see cref="Finish"/> has run.</summary>
    public BatchNormReestimation? Reestimation => _reestimation;

    public override void Setup(RunContext run)
    {
        if (!run.Model.modules().Any(m => m is TorchSharp.Modules.BatchNorm))
            throw new NotSupportedException($"AdaBN re-estimates BatchNorm statistics, and {run.Model.Architecture} has no BatchNorm layers.");
        // A plan has no target images to count (its index lists are empty).
        if (run.Planning) return;
        var target = RequireTarget(run);
        if (target.Unlabelled.Length < 2)
            throw new InvalidOperationException($"AdaBN measures statistics on the target's training images, and the target has {target.Unlabelled.Length}.");
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        foreach (var p in run.Model.parameters()) p.requires_grad = true;
        return LayerwiseLearningRates.Groups(run.Model, run.Model.StageNames, Options.LayerwiseDecay);
    }

    public override StepResult Step(RunContext run, StepInput input) => Supervised.Step(run, input);

    public override EvaluationSet Evaluation(RunContext run, DatasetSplit split) =>
        split == DatasetSplit.Test ? new EvaluationSet(RequireTarget(run).Source, run.Target!.Test) : base.Evaluation(run, split);

    /// <summary>The target images the statistics come from: a seeded shuffle of its training split (so no batch holds
    /// one class only, which would skew the statistics downstream layers see), cut to the option's number.</summary>
    public static int[] StatisticsIndices(int[] unlabelled, int seed, int limit)
    {
        var order = TrainingSelection.EpochOrder(unlabelled, seed, 0, 0xADA);
        return limit > 0 && limit < order.Length ? order[..limit] : order;
    }

    public override void Finish(RunContext run)
    {
        var target = RequireTarget(run);
        var test = Evaluation(run, DatasetSplit.Test);
        if (test.Indices.Length > 0) _before = Evaluator.Run(run, this, test);
        var indices = StatisticsIndices(target.Unlabelled, run.Training.Seed, Options.StatisticsExamples);
        run.Report($"Re-estimating BatchNorm statistics on {indices.Length:N0} target images");
        _reestimation = BatchNormStatistics.Reestimate(run.Model, target.Source, indices, run.Training.BatchSize, run.Cancellation);
        if (test.Indices.Length > 0) _after = Evaluator.Run(run, this, test);
    }

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        if (_reestimation is { } r)
            yield return new("BatchNorm statistics", $"all {r.Layers} BatchNorm layers re-estimated on {r.Examples:N0} of the target's " +
                $"{run.Target?.Unlabelled.Length ?? 0:N0} training images, without their labels ({r.Batches} batches of up to {run.Training.BatchSize}, " +
                "mean and variance over all images); no weight changed");
        if (_before is { } b)
            yield return new("Target test accuracy before re-estimation", $"{Percent(b.Accuracy)} (the source-trained model with the source's statistics; {b.Examples:N0} images)");
        if (_after is { } a)
            yield return new("Target test accuracy after re-estimation", $"{Percent(a.Accuracy)} (the run's test result)");
        yield return new("Learning rates", PartialFineTuneStrategy.Rates(run.Model, run.Model.StageNames, Options.LayerwiseDecay, run.Training.LearningRate) +
            " (source training)");
    }

    static string Percent(double share) => (share * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + " %";

    static TargetData RequireTarget(RunContext run) => run.Target
        ?? throw new InvalidOperationException("AdaBN adapts to a target dataset, and the run has none: choose one (TargetDatasetId).");
}
