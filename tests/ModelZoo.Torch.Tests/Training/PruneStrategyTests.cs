using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Compression;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Predict;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>The run to prune, trained once for the class by the real trainer (full fine-tune of a ResNet-18 on the
/// dark/bright images) and saved as the portal saves a run's model.</summary>
public sealed class PruneSource : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("prune-").FullName;
    readonly Lazy<(SourceRunModel, RunResult)> _source;

    public PruneSource() => _source = new(() =>
    {
        var job = TrainerTests.Job(PruneStrategyTests.Settings(epochs: 2), "full-fine-tune") with { OutputDir = Dir, WeightsFileName = "source.safetensors" };
        var result = new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None).Result;
        return (new SourceRunModel(job.RunId, Path.Combine(Dir, "source.safetensors"), job.Model, result.ClassNames, "dark-bright")
        {
            ImageSize = 16, TestAccuracy = result.TestAccuracy,
        }, result);
    });

    public (SourceRunModel Source, RunResult Result) Value => _source.Value;

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

/// <summary>Pruning as a run on the shared loop: the zeros hold exactly through a fine-tune that moves everything
/// else (AdamW with weight decay at the run's full rate, the hardest case for a mask), the count is exact per scope,
/// and the result reports what was measured.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class PruneStrategyTests(PruneSource fixture) : IClassFixture<PruneSource>
{
    internal static HyperParameters Settings(int epochs = 2, int seed = 3) =>
        new() { Epochs = epochs, BatchSize = 16, LearningRate = 3e-3, ImageSize = 16, Seed = seed, Augment = false, WeightDecay = 0.05 };

    (RunResult Result, TestRuns.Recorder Progress, string Weights) Prune(JsonObject options)
    {
        var (source, _) = fixture.Value;
        var name = $"pruned-{Guid.NewGuid():N}.safetensors";
        var job = TrainerTests.Job(Settings(), "prune", options);
        job = job with
        {
            Request = job.Request with { SourceRunId = source.RunId }, SourceRun = source, OutputDir = fixture.Dir, WeightsFileName = name,
        };
        var progress = new TestRuns.Recorder();
        var result = new Trainer(ArchitectureRegistry.Default).Train(job, progress, CancellationToken.None).Result;
        return (result, progress, Path.Combine(fixture.Dir, name));
    }

    /// <summary>The masks computed independently from the source run's file, as the strategy should have.</summary>
    PruningMasks ExpectedMasks(double sparsity, PruningScope scope)
    {
        using var trained = TrainedModel.Load(fixture.Value.Source.WeightsPath, ArchitectureOptions.Of(fixture.Value.Source.Model));
        return PruningMasks.Compute(trained.Model, sparsity, scope);
    }

    [Fact]
    public void GlobalPruning_KeepsEveryPrunedWeightExactlyZero_ThroughTheFineTune_AndReportsWhatItMeasured()
    {
        var (source, sourceResult) = fixture.Value;
        // The full rate (factor 1) and weight decay: without the masks held, AdamW would move every pruned weight.
        var (r, progress, path) = Prune(new JsonObject { ["sparsity"] = 0.8, ["scope"] = "Global", ["fineTuneEpochs"] = 2, ["learningRateFactor"] = 1.0 });
        using var masks = ExpectedMasks(0.8, PruningScope.Global);
        var saved = SafeTensors.Load(path);
        var original = SafeTensors.Load(source.WeightsPath);
        try
        {
            long total = 0, zeros = 0, keptMoved = 0;
            foreach (var (key, mask) in masks.Masks)
            {
                var w = saved[key];
                using var pruned = mask.eq(0);
                w.masked_select(pruned).eq(0).all().item<bool>().ShouldBeTrue($"{key}: a pruned weight is no longer zero");
                using var kept = mask.ne(0);
                keptMoved += w.masked_select(kept).ne(original[key].masked_select(kept)).sum().item<long>();
                total += w.numel();
                zeros += w.eq(0).sum().item<long>();
            }
            keptMoved.ShouldBeGreaterThan(total / 10, "the fine-tune trained the weights that were kept");
            // Trained float weights are never exactly zero, so the zeros are exactly those pruned: floor(0.8 × n).
            zeros.ShouldBe((long)Math.Floor(0.8 * total));
            r.Values[PruneOptions.SparsityMetric].ShouldBe((double)zeros / total, 1e-12);
            r.Values.Keys.Count(k => k.StartsWith(PruneOptions.LayerPrefix)).ShouldBe(21, "ResNet-18: 20 convolutions and the classifier");
        }
        finally { foreach (var t in saved.Values.Concat(original.Values)) t.Dispose(); }

        // The same weights on the same split: before pruning is what the source run recorded.
        r.Values[PruneOptions.AccuracyBefore].ShouldBe(sourceResult.TestAccuracy, 1e-12);
        r.Values[PruneOptions.AccuracyPruned].ShouldBeInRange(0, 1);
        r.TrainableParameters.ShouldBe(r.TotalParameters);
        // Live progress like any run: steps, and each epoch's sparsity counted on the weights.
        progress.Steps.Count.ShouldBeGreaterThan(0);
        progress.Epochs.Count.ShouldBe(2);
        progress.Epochs.ShouldAllBe(e => Math.Abs(e[PruneOptions.SparsityMetric] - r.Values[PruneOptions.SparsityMetric]) < 1e-12);
        r.StrategyFacts.Select(f => f.Label).ShouldContain("Sparsity per layer");
        r.StrategyFacts.Single(f => f.Label == "Pruned run").Value.ShouldContain(source.RunId.ToString());
    }

    [Fact]
    public void LayerPruning_WithoutAFineTune_ZeroesTheFractionOfEveryLayer_AndTestsThePrunedModel()
    {
        var (r, progress, path) = Prune(new JsonObject { ["sparsity"] = 0.5, ["scope"] = "Layer", ["fineTuneEpochs"] = 0 });
        var saved = SafeTensors.Load(path);
        try
        {
            using var masks = ExpectedMasks(0.5, PruningScope.Layer);
            foreach (var key in masks.Masks.Keys)
            {
                var n = saved[key].numel();
                saved[key].eq(0).sum().item<long>().ShouldBe((long)Math.Floor(0.5 * n), key);
                r.Values[PruneOptions.LayerPrefix + key].ShouldBe(Math.Floor(0.5 * n) / n, 1e-12, key);
            }
        }
        finally { foreach (var t in saved.Values) t.Dispose(); }
        r.TrainableParameters.ShouldBe(0);
        progress.Steps.ShouldBeEmpty();
        // Nothing trained after pruning: the run's test accuracy is the pruned model's.
        r.TestAccuracy.ShouldBe(r.Values[PruneOptions.AccuracyPruned], 1e-12);
    }
}
