using System.Diagnostics;
using ModelZoo.Core.Recommender;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Probing;

/// <summary>
/// The recommender's quick look at a backbone: the job is prepared exactly as a feature-extraction run would be (the
/// model with its starting weights, the run's preprocessing, no augmentation), the chosen examples are embedded through
/// the <see cref="FeatureCache"/> (so a second recommendation on the dataset, or a later feature-extraction run, reuses
/// them), and a <see cref="LinearProbe"/> (logistic regression on standardised features) is fitted and scored.
/// </summary>
public sealed class BackboneProbe(ArchitectureRegistry registry, IWeightsInitializer? weights, PipelineOptions pipelineOptions, StrategyRegistry strategies)
    : IBackboneProbe
{
    /// <summary>Full-batch Adam steps and rate of the probe: the domain-gap classifier's, which converge on a few hundred
    /// standardised vectors of up to 4,096 features (the probe is a ranking device, not the final model).</summary>
    public const int Steps = DomainGap.ClassifierSteps;
    public const double LearningRate = DomainGap.ClassifierLearningRate;

    public ProbeMeasure Probe(TrainingJob job, int[] train, int[] scored, int seed, Action<string>? progress, CancellationToken ct)
    {
        if (train.Length == 0 || scored.Length == 0)
            throw new InvalidOperationException($"Dataset '{job.Data.Info.Id}' gives the probe {train.Length} training and {scored.Length} scored examples; it needs some of each.");
        var watch = Stopwatch.StartNew();
        using var prepared = PreparedRun.Prepare(job, new Lines(progress), ct, registry, weights, pipelineOptions, strategies);
        var all = train.Concat(scored).ToArray();
        using var table = FeatureCache.Fetch(prepared.Run, prepared.Run.Data, all, out var report);
        var dim = table.Width;
        float[] Rows(int[] indices)
        {
            using var rows = table.Features.index_select(0, tensor(indices.Select(i => (long)table.Rows[i]).ToArray(), device: table.Features.device));
            return rows.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        }
        var x = Rows(train);
        var xs = Rows(scored);
        FeatureStandardisation.Apply(x, dim, xs);
        var labels = job.Data.Images?.Labels ?? job.Data.Texts!.Labels;
        var classes = job.Data.Info.ClassNames.Count;
        ct.ThrowIfCancellationRequested();
        var head = LinearProbe.Fit(x, train.Select(i => labels[i]).ToArray(), dim, classes, Steps, LearningRate);
        var predicted = head.Predict(xs);
        var right = scored.Where((i, k) => predicted[k] == labels[i]).Count();
        return new ProbeMeasure((double)right / scored.Length, train.Length, scored.Length, dim, report.Computed, watch.Elapsed.TotalSeconds);
    }

    sealed class Lines(Action<string>? line) : IRunProgress
    {
        public void Status(StatusChange status) { if (status.Message is { Length: > 0 } m) line?.Invoke(m); }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics epoch) { }
    }
}
