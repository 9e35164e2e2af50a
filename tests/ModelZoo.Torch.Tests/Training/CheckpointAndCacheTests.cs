using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>The loop's checkpoints and the feature cache, through real runs of the shared loop.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class CheckpointAndCacheTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-ckpt-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly HyperParameters Small = new() { Epochs = 3, BatchSize = 16, LearningRate = 1e-3, ImageSize = 16, Seed = 4 };

    TrainingJob Job(string strategy, string dir, JsonObject? options = null) =>
        TrainerTests.Job(Small, strategy, options) with { OutputDir = dir, Checkpoint = true };

    /// <summary>A run stopped after its second epoch's checkpoint and resumed in a new loop ends where an uninterrupted
    /// run ends: same losses for the replayed steps, same test accuracy.</summary>
    [Fact]
    public void AResumedRun_ReplaysTheSameSteps_AsARunThatNeverStopped()
    {
        var whole = new List<StepProgress>();
        var a = new Trainer(ArchitectureRegistry.Default).Train(Job("full-fine-tune", Directory.CreateDirectory(Path.Combine(_dir, "a")).FullName),
            new TestRuns.Recorder(onStep: whole.Add), CancellationToken.None);

        var dir = Directory.CreateDirectory(Path.Combine(_dir, "b")).FullName;
        using var stop = new CancellationTokenSource();
        var first = new List<StepProgress>();
        Should.Throw<OperationCanceledException>(() => new Trainer(ArchitectureRegistry.Default).Train(Job("full-fine-tune", dir),
            new TestRuns.Recorder(onStep: s => { first.Add(s); if (s.Epoch == 3 && s.Step == 2) stop.Cancel(); }), stop.Token));
        CheckpointState.Read(Path.Combine(dir, CheckpointFiles.Directory)).Epoch.ShouldBe(2);

        var rest = new List<StepProgress>();
        var b = new Trainer(ArchitectureRegistry.Default).Train(Job("full-fine-tune", dir) with { Resume = true },
            new TestRuns.Recorder(onStep: rest.Add), CancellationToken.None);
        rest.First().GlobalStep.ShouldBe(whole.First(s => s.Epoch == 3).GlobalStep, "the resume starts at epoch 3's first step");
        rest.Select(s => s.Loss).ShouldBe(whole.Where(s => s.Epoch == 3).Select(s => s.Loss), tolerance: 1e-5);
        b.Result.TestAccuracy.ShouldBe(a.Result.TestAccuracy);
        b.Result.ResumedAfterEpochs.ShouldBe([2]);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("missing-optimizer")]
    [InlineData("other-strategy")]
    public void AnUnreadableCheckpoint_IsRefusedWithTheFileAndTheReason(string damage)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, damage)).FullName;
        new Trainer(ArchitectureRegistry.Default).Train(Job("full-fine-tune", dir), new TestRuns.Recorder(), CancellationToken.None);
        var checkpoint = Path.Combine(dir, CheckpointFiles.Directory);
        var job = Job("full-fine-tune", dir) with { Resume = true };
        switch (damage)
        {
            case "truncated":
                var tensors = Path.Combine(checkpoint, CheckpointFiles.Tensors);
                using (var fs = new FileStream(tensors, FileMode.Open)) fs.SetLength(fs.Length / 2);
                break;
            case "missing-optimizer":
                File.Delete(Path.Combine(checkpoint, CheckpointFiles.Optimizer));
                break;
            case "other-strategy":
                job = Job("feature-extraction", dir) with { Resume = true, Request = job.Request with { Strategy = "feature-extraction", HyperParameters = Small with { Augment = true } } };
                break;
        }
        var e = Should.Throw<CheckpointUnreadableException>(() => new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None));
        e.Message.ShouldContain(damage switch { "truncated" => "modules.safetensors", "missing-optimizer" => "optimizer.bin is missing", _ => "" });
    }

    /// <summary>A second feature-extraction run on the same backbone and data computes nothing and says so; another
    /// seed of a random initialisation is another backbone, so it does not reuse.</summary>
    [Fact]
    public void ASecondFeatureExtractionRun_ReusesTheCachedFeatures_AndSaysSo()
    {
        var cache = Path.Combine(_dir, "features");
        StrategyFact Features(TrainingOutcome o) => o.Result.StrategyFacts.Single(f => f.Label == "Features");
        var h = Small with { Augment = false };
        TrainingJob J(int seed) => TrainerTests.Job(h with { Seed = seed }, "feature-extraction") with { OutputDir = _dir, FeatureCacheDir = cache };

        var first = new Trainer(ArchitectureRegistry.Default).Train(J(1), new TestRuns.Recorder(), CancellationToken.None);
        Features(first).Value.ShouldStartWith("120 examples' features computed once");
        var second = new Trainer(ArchitectureRegistry.Default).Train(J(1), new TestRuns.Recorder(), CancellationToken.None);
        Features(second).Value.ShouldStartWith("all 120 examples' features reused from an earlier run");
        second.Result.TestAccuracy.ShouldBe(first.Result.TestAccuracy, "the same features and seed give the same head");
        var other = new Trainer(ArchitectureRegistry.Default).Train(J(2), new TestRuns.Recorder(), CancellationToken.None);
        Features(other).Value.ShouldStartWith("120 examples' features computed once");
        Directory.GetDirectories(cache).Length.ShouldBe(2);
    }

    /// <summary>Early stopping ends training once validation accuracy has not improved for the patience, and the
    /// best epoch's weights are the ones tested.</summary>
    [Fact]
    public void EarlyStopping_EndsTraining_AndTheBestEpochIsTested()
    {
        var epochs = new List<EpochMetrics>();
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(
            TrainerTests.Job(new HyperParameters { Epochs = 30, BatchSize = 16, LearningRate = 1e-2, ImageSize = 16, Seed = 4, EarlyStoppingPatience = 2 }),
            new TestRuns.Recorder(onEpoch: epochs.Add), CancellationToken.None);
        outcome.Result.StoppedAtEpoch.ShouldNotBeNull();
        epochs.Count.ShouldBe(outcome.Result.StoppedAtEpoch!.Value);
        epochs.Count.ShouldBeLessThan(30);
        var best = epochs.MaxBy(e => e.ValAccuracy)!;
        outcome.Result.BestEpoch.ShouldBe(epochs.First(e => e.ValAccuracy == best.ValAccuracy).Epoch);
        epochs.Skip(outcome.Result.BestEpoch).ShouldAllBe(e => e.ValAccuracy <= best.ValAccuracy);
    }
}
