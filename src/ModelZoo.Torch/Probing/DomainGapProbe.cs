using ModelZoo.Core.DomainGap;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Probing;

/// <summary>
/// Measures a domain gap on a backbone's pooled features: each domain's job is prepared exactly as a feature-extraction
/// run would be (the model with its starting weights, the run's preprocessing, no augmentation), a seeded sample of each
/// training split is embedded through the <see cref="FeatureCache"/> (so a later feature-extraction run, or a second
/// measurement, reuses the features), and <see cref="DomainGap.Measure"/> compares the two samples.
/// </summary>
public sealed class DomainGapProbe(ArchitectureRegistry registry, IWeightsInitializer? weights, PipelineOptions pipelineOptions, StrategyRegistry strategies)
    : IDomainGapProbe
{
    public DomainGapMeasures Measure(TrainingJob source, TrainingJob target, int examples, int seed, CancellationToken ct)
    {
        var s = Embed(source, examples, seed, ct, out var dim);
        var t = Embed(target, examples, seed + 1, ct, out _);
        return DomainGap.Measure(s, t, dim, seed);
    }

    float[] Embed(TrainingJob job, int examples, int seed, CancellationToken ct, out int dim)
    {
        using var prepared = PreparedRun.Prepare(job, new SilentProgress(), ct, registry, weights, pipelineOptions, strategies);
        var pool = job.Data.Split.Train;
        if (pool.Length < 4) throw new InvalidOperationException($"Dataset '{job.Data.Info.Id}' has {pool.Length} training examples; measuring a gap needs at least 4.");
        var rng = new Random(seed);
        var sample = pool.OrderBy(_ => rng.Next()).Take(examples).Order().ToArray();
        using var table = FeatureCache.Fetch(prepared.Run, prepared.Run.Data, sample, out _);
        dim = table.Width;
        using var rows = table.Features.index_select(0, tensor(sample.Select(i => (long)table.Rows[i]).ToArray(), device: table.Features.device));
        return rows.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }

    sealed class SilentProgress : IRunProgress
    {
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics epoch) { }
    }
}
