using System.Text.Json.Nodes;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Training.Strategies;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>Meta-learned few-shot: the class split and episode draws, and whole runs through the shared loop on a real
/// ResNet-18 (random weights, 16 px) and eight classes of striped images.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class PrototypicalEpisodesTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-protoep-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const int Classes = 8, PerClass = 24;
    static readonly HyperParameters Small = new() { Epochs = 2, BatchSize = 16, LearningRate = 1e-3, ImageSize = 16, Seed = 7 };
    static readonly JsonObject Options = new()
    {
        ["ways"] = 3, ["shots"] = 2, ["queries"] = 2, ["novelClasses"] = 3, ["episodesPerEpoch"] = 4, ["testEpisodes"] = 100, ["backboneRateScale"] = 1,
    };

    /// <summary>Eight classes an embedding can tell apart: class c is a bright stripe at row c of a noisy 8x8 image.</summary>
    static LoadedDataset Stripes()
    {
        var rng = new Random(3);
        int n = Classes * PerClass, side = 8;
        var pixels = new byte[n * side * side];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % Classes;
            for (int p = 0; p < side * side; p++)
                pixels[i * side * side + p] = (byte)(p / side == labels[i] ? rng.Next(180, 256) : rng.Next(0, 80));
        }
        var names = Enumerable.Range(0, Classes).Select(c => $"row{c}").ToList();
        var info = new DatasetInfo { Id = "stripes", Title = "Stripes", ClassNames = names, Examples = n, Width = side, Height = side, Channels = 1 };
        var images = new ImageSet { Width = side, Height = side, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = names };
        return new LoadedDataset(info, images, StratifiedSplitter.Split(labels, 3, 0.2, 0.2));
    }

    TrainingJob Job(string dir) => new(Guid.NewGuid(),
        new RunRequest { ModelId = "resnet18.test", DatasetId = "stripes", HyperParameters = Small, Strategy = "prototypical-episodes", Options = Options.DeepClone().AsObject() },
        new ModelManifest { Id = "resnet18.test", Architecture = "resnet18", Head = new HeadInfo { Classifier = "fc", NumClasses = 1000 } },
        Stripes(), null, dir) { Checkpoint = true };

    string Dir(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    [Fact]
    public void NovelClasses_AreTheSameForTheSameSeed_AndOtherForAnother()
    {
        var a = PrototypicalEpisodesStrategy.NovelClasses(62, 20, seed: 1);
        a.Length.ShouldBe(20);
        a.ShouldBe(a.Order().ToArray());
        a.Distinct().Count().ShouldBe(20);
        PrototypicalEpisodesStrategy.NovelClasses(62, 20, seed: 1).ShouldBe(a);
        PrototypicalEpisodesStrategy.NovelClasses(62, 20, seed: 2).ShouldNotBe(a);
        Should.Throw<ArgumentOutOfRangeException>(() => PrototypicalEpisodesStrategy.NovelClasses(8, 8, 1));
    }

    [Fact]
    public void ATrainingEpisode_DrawsDistinctExamplesOfItsClasses_FromTheSeedEpochAndStepAlone()
    {
        var byClass = new Dictionary<int, int[]> { [0] = [1, 2, 3, 4], [2] = [10, 11, 12, 13, 14], [5] = [20, 21, 22, 23], [6] = [30, 31, 32, 33] };
        var e = PrototypicalEpisodesStrategy.TrainingEpisode(byClass, ways: 3, shots: 1, queries: 3, seed: 4, epoch: 2, step: 5);
        e.Classes.Length.ShouldBe(3);
        e.Classes.Distinct().Count().ShouldBe(3);
        for (int j = 0; j < 3; j++)
        {
            var all = e.Support[j].Concat(e.Query[j]).ToArray();
            all.Length.ShouldBe(4);
            all.Distinct().Count().ShouldBe(4, "support and queries are disjoint");
            all.ShouldAllBe(i => byClass[e.Classes[j]].Contains(i));
        }
        var again = PrototypicalEpisodesStrategy.TrainingEpisode(byClass, 3, 1, 3, 4, 2, 5);
        again.Classes.ShouldBe(e.Classes);
        again.Query.SelectMany(q => q).ShouldBe(e.Query.SelectMany(q => q));
        Enumerable.Range(0, 10).Select(s => string.Join(",", PrototypicalEpisodesStrategy.TrainingEpisode(byClass, 3, 1, 3, 4, 2, s).Support.SelectMany(x => x)))
            .Distinct().Count().ShouldBeGreaterThan(1, "other steps draw other episodes");
    }

    /// <summary>A real run: only base classes reach a step (the episodes as the sampler draws them, and the classes the
    /// source loaded), the plain baseline stays what the pretrained weights scored, the run reports both on the novel
    /// classes and its standard test covers every class.</summary>
    [Fact]
    public void ARun_TrainsOnBaseClassEpisodesOnly_AndReportsNovelEpisodesBesidePlainPrototypes()
    {
        var progress = new TestRuns.Recorder();
        var job = Job(Dir("a"));
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, progress, CancellationToken.None);
        var r = outcome.Result;

        var labels = job.Data.Images!.Labels;
        var novel = PrototypicalEpisodesStrategy.NovelClasses(Classes, 3, Small.Seed);
        var baseByClass = Enumerable.Range(0, Classes).Except(novel)
            .ToDictionary(c => c, c => job.Data.Split.Train.Where(i => labels[i] == c).Order().ToArray());
        var trainedLabels = Enumerable.Range(1, 2).SelectMany(epoch => Enumerable.Range(0, 4)
                .Select(step => PrototypicalEpisodesStrategy.TrainingEpisode(baseByClass, 3, 2, 2, Small.Seed, epoch, step)))
            .SelectMany(e => e.Support.Concat(e.Query).SelectMany(x => x)).Select(i => labels[i]).Distinct().ToList();
        trainedLabels.ShouldNotContain(c => novel.Contains(c));
        trainedLabels.Count.ShouldBe(5, "over 8 episodes of 3 ways, every base class was drawn");

        progress.Steps.Count.ShouldBe(2 * 4, "episodes per epoch set the epoch's length, not the batch size");
        progress.Steps.ShouldAllBe(s => s.Values.ContainsKey("episode_acc"));
        r.Selection.ShouldBe(ModelSelection.LastEpoch);
        r.TrainExamples.ShouldBe(baseByClass.Values.Sum(v => v.Length), "the base classes' training examples");
        r.ConfusionMatrix.Count.ShouldBe(Classes, "the standard test is over every class");
        r.ConfusionMatrix.Sum(row => row.Sum()).ShouldBe(job.Data.Split.Test.Length);
        r.TrainableParameters.ShouldBe(11_689_512 - 513_000, "the backbone learns; the classifier is unused");

        var facts = r.StrategyFacts.ToDictionary(f => f.Label, f => f.Value);
        facts["Class split"].ShouldContain(string.Join(", ", novel.Select(c => $"'row{c}'")));
        facts["Training episodes"].ShouldBe("8 episodes in this process drew from 5 classes, all base (no novel class)");
        facts["Novel classes, 3-way 1-shot"].ShouldContain("plain prototypes of the pretrained backbone on the same 100 episodes");
        facts.ShouldContainKey("Novel classes, 3-way 2-shot");

        var epochs = progress.Epochs;
        epochs.Count.ShouldBe(2);
        foreach (var key in new[] { "novel_1shot_acc", "plain_1shot_acc", "novel_kshot_acc", "plain_kshot_acc", "novel_kshot_ci95" })
            epochs.ShouldAllBe(e => e.Values.ContainsKey(key));
        epochs[1]["plain_1shot_acc"].ShouldBe(epochs[0]["plain_1shot_acc"], "the baseline is measured once, before training");
        epochs.Select(e => e["novel_kshot_acc"]).ShouldAllBe(a => a >= 0 && a <= 1);
        // The card's numbers are the last epoch's weights scored on the same episodes as the epoch's values.
        facts["Novel classes, 3-way 2-shot"].ShouldStartWith(FormattableString.Invariant($"episodic {epochs[1]["novel_kshot_acc"] * 100:F2} ± {epochs[1]["novel_kshot_ci95"] * 100:F2} % (n = 100)"));
        facts["Novel classes, 3-way 2-shot"].ShouldContain(FormattableString.Invariant($"same 100 episodes {epochs[1]["plain_kshot_acc"] * 100:F2} ± "));
        // Paired over the same episodes, the mean gain is the difference of the two means.
        epochs[1]["gain_kshot"].ShouldBe(epochs[1]["novel_kshot_acc"] - epochs[1]["plain_kshot_acc"], 1e-9);
        epochs[1]["gain_kshot_ci95"].ShouldBeGreaterThanOrEqualTo(0);
    }

    /// <summary>Stopped inside epoch 2 and resumed from epoch 1's checkpoint, the run replays epoch 2's episodes: the
    /// same losses and the same novel-class results as a run that never stopped.</summary>
    [Fact]
    public void AResumedRun_ReplaysTheSameEpisodes()
    {
        var whole = new List<StepProgress>();
        var wholeEpochs = new List<EpochMetrics>();
        var a = new Trainer(ArchitectureRegistry.Default).Train(Job(Dir("whole")), new TestRuns.Recorder(whole.Add, wholeEpochs.Add), CancellationToken.None);

        var dir = Dir("stopped");
        using var stop = new CancellationTokenSource();
        Should.Throw<OperationCanceledException>(() => new Trainer(ArchitectureRegistry.Default).Train(Job(dir),
            new TestRuns.Recorder(onStep: s => { if (s.Epoch == 2 && s.Step == 2) stop.Cancel(); }), stop.Token));
        var rest = new List<StepProgress>();
        var restEpochs = new List<EpochMetrics>();
        var b = new Trainer(ArchitectureRegistry.Default).Train(Job(dir) with { Resume = true }, new TestRuns.Recorder(rest.Add, restEpochs.Add), CancellationToken.None);

        rest.Select(s => s.Loss).ShouldBe(whole.Where(s => s.Epoch == 2).Select(s => s.Loss), tolerance: 1e-5);
        b.Result.ResumedAfterEpochs.ShouldBe([1]);
        b.Result.TestAccuracy.ShouldBe(a.Result.TestAccuracy);
        restEpochs.Single()["novel_kshot_acc"].ShouldBe(wholeEpochs[1]["novel_kshot_acc"]);
    }
}
