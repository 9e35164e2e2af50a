using System.Diagnostics;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Benchmarks;

/// <summary>What the bare step of a strategy measured: milliseconds per step and the batch it repeated.</summary>
/// <param name="Stream">The strategy's first stream ("labelled" images, or "features" for a cached linear probe).</param>
/// <param name="InputShape">The repeated batch's input shape, e.g. [32, 3, 64, 64] or [32, 512].</param>
public sealed record BareStepResult(double[] Milliseconds, int BatchSize, string Stream, long[] InputShape);

/// <summary>
/// A strategy's bare training step: the run prepared exactly as <see cref="Trainer"/> prepares it (the seeded model,
/// its starting weights, the strategy's <c>Setup</c>, parameter groups, optimiser and epoch-1 modes), then the
/// strategy's own <c>Step</c>, backward and the optimiser step repeated on one fixed batch of its first stream. No
/// data pipeline runs during the timed steps, no events are recorded, no accuracy is counted: what is left is the
/// step's arithmetic, the number a whole run's examples/s is compared with.
/// </summary>
public static class StrategyBenchmark
{
    public static BareStepResult BareStep(TrainingJob job, int warmup, int steps, IWeightsInitializer? weights = null,
        PipelineOptions? pipelineOptions = null, ArchitectureRegistry? registry = null, StrategyRegistry? strategies = null)
    {
        using var prepared = Prepare(job, weights, pipelineOptions, registry, strategies);
        var (run, strategy, h) = (prepared.Run, prepared.Strategy, job.Request.HyperParameters);
        strategy.Setup(run);
        var groups = strategy.ParameterGroups(run);
        if (groups.Count == 0) throw new ArgumentException($"Strategy '{job.Request.Strategy}' trains nothing by gradient steps; it has no step to time.");
        using var optimization = Optimization.Create(h, groups);
        strategy.BeginEpoch(run, 1);
        var streams = strategy.Streams(run);
        if (streams.Count != 1)
            throw new ArgumentException($"Strategy '{job.Request.Strategy}' steps over {streams.Count} streams; the bare step repeats one batch of one stream.");
        var primary = streams[0];
        var order = TrainingSelection.EpochOrder(primary.Indices, h.Seed, 1);
        var first = order[..Math.Min(h.BatchSize, order.Length)];
        TrainingBatch batch;
        using (var batches = primary.Source.Train(first, h.BatchSize, 1, h.Seed, primary.Augment, CancellationToken.None))
            batch = batches.Next();
        using var _batch = batch;
        var none = new Dictionary<string, TrainingBatch>();
        var times = new double[steps];
        int total = warmup + steps;
        for (int i = -warmup; i < steps; i++)
        {
            var sw = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                optimization.SetRate(h.LearningRate, 1);
                var step = strategy.Step(run, new StepInput(batch, none, 1, i + warmup + 1, total, (double)(i + warmup) / total));
                step.Loss.item<float>(); // the trainer reads the loss before backward; on a GPU it is the sync point
                optimization.Optimizer.zero_grad();
                step.Loss.backward();
                if (h.GradientClipNorm > 0)
                    nn.utils.clip_grad_norm_(optimization.Parameters.Where(p => p.grad is not null), h.GradientClipNorm);
                optimization.Optimizer.step();
            }
            if (i >= 0) times[i] = sw.Elapsed.TotalMilliseconds;
        }
        return new BareStepResult(times, batch.Count, primary.Name, batch.X.shape);
    }

    /// <summary>
    /// The feature cache's first pass as a run makes it: every example of the run's dataset (all splits) through the
    /// frozen backbone in evaluation batches (<see cref="FeatureCache"/>'s batch of 256), from the image pipeline's
    /// evaluation transform to the rows in memory; nothing is read from or written to a cache folder. Returns the
    /// backbone's examples per second as the cache reports it.
    /// </summary>
    public static double ExtractionPass(TrainingJob job, IWeightsInitializer? weights = null, PipelineOptions? pipelineOptions = null,
        ArchitectureRegistry? registry = null)
    {
        using var prepared = Prepare(job with { FeatureCacheDir = null }, weights, pipelineOptions, registry, null);
        var data = job.Data.Split;
        var all = data.Train.Concat(data.Validation).Concat(data.Test).ToArray();
        foreach (var p in prepared.Run.Model.parameters()) p.requires_grad = false;
        using var table = FeatureCache.Fetch(prepared.Run, prepared.Run.Data, all, out var report);
        return report.BackboneExamplesPerSecond;
    }

    static PreparedRun Prepare(TrainingJob job, IWeightsInitializer? weights, PipelineOptions? pipelineOptions,
        ArchitectureRegistry? registry, StrategyRegistry? strategies) =>
        PreparedRun.Prepare(job, NoProgress.Instance, CancellationToken.None, registry ?? ArchitectureRegistry.Default, weights,
            pipelineOptions ?? new PipelineOptions(), strategies ?? StrategyRegistry.Default);

    /// <summary>A progress sink that drops everything: the bare step and the "no events" side of a comparison.</summary>
    public sealed class NoProgress : IRunProgress
    {
        public static readonly NoProgress Instance = new();
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics epoch) { }
    }
}
