using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Training.Strategies;
using TorchSharp;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>Self-training: the unlabelled stream carries indices, never labels; pseudo-labels arrive on schedule,
/// survive a resume, and a run without unlabelled examples is refused.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class SelfTrainingTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-self-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // 4 labels per class of the 72 training images: 64 stay unlabelled.
    static readonly HyperParameters Budget = new() { Epochs = 4, BatchSize = 8, LearningRate = 1e-2, ImageSize = 16, Seed = 3, LabelsPerClass = 4, Augment = true };
    static readonly JsonObject Options = new() { ["labelledOnlyShare"] = 0.25, ["relabelEvery"] = 2, ["threshold"] = 0.6, ["frozenStages"] = 0 };

    /// <summary>A source whose batches' labels are each example's label plus 100, so a leak shows.</summary>
    sealed class Marked(int count) : IBatchSource
    {
        public string Fingerprint => "marked";
        public Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct) => Eval(order, batchSize, ct);
        public Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct) =>
            new((indices.Length + batchSize - 1) / batchSize, (b, _) =>
            {
                var idx = indices.Skip(b * batchSize).Take(batchSize).ToArray();
                return new TrainingBatch(torch.zeros(idx.Length, 1), torch.tensor(idx.Select(i => (long)(i % count) + 100).ToArray()));
            }, workers: 1, depth: 2, ct);
        public void Dispose() { }
    }

    [Fact]
    public void TheIndexLabelledSource_PutsEachExamplesIndexWhereItsLabelWas_InTheOrderAsked()
    {
        using var source = new IndexLabelledSource(new Marked(2));
        int[] order = [7, 3, 11, 0, 5];
        using var batches = source.Train(order, 2, 1, 1, augment: true, CancellationToken.None);
        var seen = new List<long>();
        for (int b = 0; b < batches.Count; b++)
        {
            using var batch = batches.Next();
            batch.X.shape[0].ShouldBe(batch.Y.shape[0]);
            seen.AddRange(batch.Y.data<long>().ToArray());
        }
        seen.ShouldBe(order.Select(i => (long)i), "indices in the order asked, no label (≥ 100) among them");
    }

    [Fact]
    public void ARun_PseudoLabelsOnSchedule_AndRecordsWhatItUsed()
    {
        var progress = new TestRuns.Recorder();
        var job = TrainerTests.Job(Budget, "self-training", Options.DeepClone().AsObject());
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, progress, CancellationToken.None);

        outcome.Result.TrainExamples.ShouldBe(8, "4 labels per class, 2 classes");
        // Epoch 1 is labelled only (share 0.25 of 4); relabelling at the start of epochs 2 and 4.
        progress.Statuses.Count(s => s.Message.StartsWith("Pseudo-labelling 64 unlabelled", StringComparison.Ordinal)).ShouldBe(2);
        (progress.Epochs[0].Values?.ContainsKey("pseudo_labelled_share") ?? false).ShouldBeFalse();
        progress.Epochs[1].Values!["pseudo_labelled_share"].ShouldBeInRange(0, 1);
        var facts = outcome.Result.StrategyFacts.ToDictionary(f => f.Label, f => f.Value);
        facts["Unlabelled examples"].ShouldStartWith("64 of the 64 training examples");
        facts["Pseudo-labels at the last relabelling"].ShouldContain("(epoch 4)");
        // Dark and bright images separate easily: after one epoch on 8 labels the model is confident about some.
        progress.Steps.Where(s => s.Epoch >= 2).Sum(s => s.Values?["pseudo_labelled_in_batch"] ?? 0).ShouldBeGreaterThan(0);
    }

    [Fact]
    public void ARunThatLabelsEveryExample_IsRefusedWithTheReason()
    {
        var h = Budget with { LabelsPerClass = null };
        var e = Should.Throw<InvalidOperationException>(() =>
            new Trainer(ArchitectureRegistry.Default).Train(TrainerTests.Job(h, "self-training", Options.DeepClone().AsObject()), new TestRuns.Recorder(), CancellationToken.None));
        e.Message.ShouldContain("labels all of them");
    }

    /// <summary>Stopped after epoch 2 (labels made at its start), resumed: epochs 3 and 4 replay the uninterrupted
    /// run's losses, so the pseudo-labels came back from the checkpoint rather than being made again.</summary>
    [Fact]
    public void AResumedRun_KeepsItsPseudoLabels_AndReplaysTheSameSteps()
    {
        TrainingJob Job(string dir) => TrainerTests.Job(Budget, "self-training", Options.DeepClone().AsObject()) with { OutputDir = dir, Checkpoint = true };
        var whole = new List<StepProgress>();
        var a = new Trainer(ArchitectureRegistry.Default).Train(Job(Directory.CreateDirectory(Path.Combine(_dir, "a")).FullName),
            new TestRuns.Recorder(onStep: whole.Add), CancellationToken.None);

        var dir = Directory.CreateDirectory(Path.Combine(_dir, "b")).FullName;
        using var stop = new CancellationTokenSource();
        Should.Throw<OperationCanceledException>(() => new Trainer(ArchitectureRegistry.Default).Train(Job(dir),
            new TestRuns.Recorder(onStep: s => { if (s.Epoch == 3 && s.Step == 1) stop.Cancel(); }), stop.Token));
        CheckpointState.Read(Path.Combine(dir, CheckpointFiles.Directory)).Epoch.ShouldBe(2);

        var rest = new List<StepProgress>();
        var resumed = new TestRuns.Recorder(onStep: rest.Add);
        var b = new Trainer(ArchitectureRegistry.Default).Train(Job(dir) with { Resume = true }, resumed, CancellationToken.None);
        resumed.Statuses.Count(s => s.Message.StartsWith("Pseudo-labelling", StringComparison.Ordinal)).ShouldBe(1, "only epoch 4 relabels");
        rest.Select(s => s.Loss).ShouldBe(whole.Where(s => s.Epoch >= 3).Select(s => s.Loss), tolerance: 1e-5);
        rest.Select(s => s.Values!["pseudo_labelled_in_batch"]).ShouldBe(whole.Where(s => s.Epoch >= 3).Select(s => s.Values!["pseudo_labelled_in_batch"]));
        b.Result.TestAccuracy.ShouldBe(a.Result.TestAccuracy);
    }
}
