using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Cli.Studies;

/// <summary>
/// Issue 15: does episodic training (the <c>prototypical-episodes</c> strategy) beat plain prototypes of the same
/// pretrained backbone on classes it never trained on? One portal run per seed on the glyphs (62 classes): 20 novel
/// classes drawn with the seed, 5-way episodes on the other 42, then 5-way 1-shot and 5-shot episodes on the novel
/// classes' test glyphs, scored with the trained backbone and, on the same episodes, with the pretrained one. The
/// numbers are the run's own epoch values (the last epoch's), so the study measures exactly what the card reports.
/// </summary>
public static class MetaFewShotStudy
{
    public const string Name = "meta-few-shot";
    public const int Ways = 5, Shots = 5, Queries = 10, Novel = 20, EpisodesPerEpoch = 100, Epochs = 3, TestEpisodes = 600;

    /// <summary>The house ResNet-18, pretrained on all 62 glyph classes (training fonts only): its pretraining saw the
    /// novel classes, in other fonts.</summary>
    public static Study Create() => Create(Name, Studies.ResNet, 32, "ResNet-18 glyphs");

    /// <summary>ML.NET's ImageNet ResNet-18 at 64 px (issue 12's size for it): its pretraining never saw a glyph class.</summary>
    public static Study CreateImageNet() => Create(Name + "-imagenet", Studies.ImageNetResNet, 64, "ResNet-18 ImageNet") with { Weights = [Studies.ImageNetResNet] };

    static Study Create(string name, string model, int size, string label) => new(name,
        $"Meta-learned few-shot: episodic prototypes against plain prototypes on novel glyph classes ({label})",
        "Does training the backbone on 5-way episodes of 42 glyph classes make 5-way 1- and 5-shot prototypes better on the 20 classes it never trained on?",
        [GlyphsDataset.Id], [])
    {
        Custom = (context, seeds, output, ct) => RunAsync(context, seeds, output, name, model, size, label, ct),
    };

    /// <summary>The run a user would launch from the portal for one seed.</summary>
    public static RunRequest Request(int seed, string model = Studies.ResNet, int size = 32) => new()
    {
        ModelId = model, DatasetId = GlyphsDataset.Id, Strategy = "prototypical-episodes",
        Options = new JsonObject
        {
            ["ways"] = Ways, ["shots"] = Shots, ["queries"] = Queries, ["novelClasses"] = Novel, ["episodesPerEpoch"] = EpisodesPerEpoch,
            ["testEpisodes"] = TestEpisodes, ["backboneRateScale"] = 0.1, ["logitScale"] = 10,
        },
        // The backbone's size (32 px: the house weights' own). No augmentation: the plain baseline sees unaugmented glyphs too, and the
        // comparison is then about the episodes alone.
        HyperParameters = new HyperParameters { Epochs = Epochs, LearningRate = 1e-3, Seed = seed, ImageSize = size, Augment = false },
    };

    static Task<IReadOnlyList<StudyResult>> RunAsync(StudyContext context, int[] seeds, TextWriter output, string name, string model, int size, string label,
        CancellationToken ct) => Task.Run(() =>
    {
        var jobs = context.Get<TrainingJobs>();
        var trainer = context.Get<IRunTrainer>();
        var results = new List<StudyResult>();
        foreach (var seed in seeds)
        {
            var dir = Directory.CreateTempSubdirectory("mz-study-").FullName;
            try
            {
                var prepared = jobs.Prepare(Guid.NewGuid(), Request(seed, model, size), dir);
                var progress = new LastEpoch(output, seed);
                var outcome = trainer.Train(prepared.Job, progress, ct);
                var r = outcome.Result;
                var values = progress.Last?.Values ?? throw new InvalidOperationException("The run reported no epoch.");
                foreach (var f in r.StrategyFacts) output.WriteLine($"  seed {seed}: {f.Label}: {f.Value}");
                output.WriteLine($"  seed {seed}: 62-way nearest-prototype test accuracy {r.TestAccuracy:P2}, {r.TrainSeconds:0} s");
                foreach (var (key, shots) in new[] { ("1shot", 1), ("kshot", Shots) })
                    foreach (var (arm, value) in new[] { ("plain prototypes (pretrained)", $"plain_{key}_acc"), ("episodic training", $"novel_{key}_acc"), ("gain (paired)", $"gain_{key}") })
                        results.Add(new StudyResult
                        {
                            Study = name, Group = $"{label}, {Ways}-way {shots}-shot", Arm = arm, Seed = seed,
                            TestAccuracy = values[value], Interval95 = values[value.Replace("_acc", "") + "_ci95"], Episodes = TestEpisodes,
                            BestValAccuracy = r.BestValAccuracy, TrainSeconds = r.TrainSeconds, TrainExamples = r.TrainExamples,
                            Facts = arm.StartsWith("episodic") ? r.StrategyFacts : [], Device = outcome.Device, FinishedAt = DateTimeOffset.UtcNow,
                        });
            }
            finally { Directory.Delete(dir, recursive: true); }
        }
        return (IReadOnlyList<StudyResult>)results;
    }, ct);

    /// <summary>Prints each epoch's novel-class values and keeps the last epoch's.</summary>
    sealed class LastEpoch(TextWriter output, int seed) : IRunProgress
    {
        public EpochMetrics? Last { get; private set; }
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics e)
        {
            Last = e;
            output.WriteLine($"  seed {seed}: epoch {e.Epoch}/{e.Epochs} train loss {e.TrainLoss:0.000} episode acc {e.TrainAccuracy:P1}; novel 1-shot " +
                             $"{e["novel_1shot_acc"]:P2} (plain {e["plain_1shot_acc"]:P2}), {Shots}-shot {e["novel_kshot_acc"]:P2} (plain {e["plain_kshot_acc"]:P2})");
        }
    }
}
