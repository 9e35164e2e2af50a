using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Training.Strategies;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>The few-shot prototype strategy: its arithmetic on known tensors, its support draw, and whole runs through
/// the shared loop on a real ResNet-18 (random weights, 16 px) and the dark/bright images.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public class FewShotPrototypesTests
{
    static readonly HyperParameters Settings = new() { Epochs = 3, BatchSize = 16, ImageSize = 16, Seed = 11 };

    static TrainingJob Job(HyperParameters h, int shots = 5) =>
        TrainerTests.Job(h, "few-shot-prototypes", new JsonObject { ["shots"] = shots });


    [Fact]
    public void Prototypes_AreTheRenormalisedMeansOfUnitEmbeddings_NotOfRawOnes()
    {
        // Class 0: a long vector along x and a short one along y. The raw mean points mostly along x; the mean of unit
        // vectors lies on the diagonal, because each support example counts once whatever its length.
        using var embeddings = tensor(new float[,] { { 10, 0 }, { 0, 1 }, { 0, 3 }, { 0, 5 } });
        using var labels = tensor(new long[] { 0, 0, 1, 1 });
        using var prototypes = Prototypes.Of(embeddings, labels, 2);
        var p = prototypes.data<float>().ToArray();
        var d = (float)Math.Sqrt(0.5);
        p[0].ShouldBe(d, 1e-6f); p[1].ShouldBe(d, 1e-6f);
        p[2].ShouldBe(0, 1e-6f); p[3].ShouldBe(1, 1e-6f);
    }

    [Fact]
    public void Logits_AreTheScaleTimesTheCosine_WhateverTheQuerysLength()
    {
        using var prototypes = tensor(new float[,] { { 1, 0 }, { 0, 1 } });
        using var queries = tensor(new float[,] { { 3, 4 }, { 0.3f, 0.4f } });
        using var logits = Prototypes.Logits(queries, prototypes, 10);
        logits.data<float>().ToArray().ShouldBe([6f, 8f, 6f, 8f], tolerance: 1e-5);
    }

    [Fact]
    public void SupportSet_IsKPerClassFromThePool_TheSameForTheSameSeed_AndOtherForAnother()
    {
        var labels = Enumerable.Range(0, 200).Select(i => i % 4 == 3 ? -1 : i % 3).ToArray();
        var pool = Enumerable.Range(0, 150).ToArray();
        string[] names = ["a", "b", "c"];
        var a = FewShotPrototypesStrategy.DrawSupport(pool, labels, names, 5, seed: 1);
        var again = FewShotPrototypesStrategy.DrawSupport(pool.Reverse(), labels, names, 5, seed: 1);
        var other = FewShotPrototypesStrategy.DrawSupport(pool, labels, names, 5, seed: 2);

        a.Length.ShouldBe(3);
        for (int c = 0; c < 3; c++)
        {
            a[c].Length.ShouldBe(5);
            a[c].Distinct().Count().ShouldBe(5);
            a[c].ShouldAllBe(i => i < 150 && labels[i] == c, "drawn from the pool, of its class, never unlabelled");
            a[c].ShouldBe(again[c], "the pool's order does not matter");
        }
        a.SelectMany(x => x).ShouldNotBe(other.SelectMany(x => x));
    }

    [Fact]
    public void SupportSet_RefusesMoreShotsThanAClassHas_NamingTheClassAndTheLimit()
    {
        int[] labels = [0, 0, 0, 1, 1, 0];
        var e = Should.Throw<InvalidOperationException>(() => FewShotPrototypesStrategy.DrawSupport([0, 1, 2, 3, 4, 5], labels, ["x", "y"], 3, seed: 1));
        e.Message.ShouldStartWith("Shots must be at most 2: class 'y' has only 2 training examples");
    }

    [Fact]
    public void SupportSet_Description_ListsEveryIndex_OrForALongListTheFirstFiveAndAHash()
    {
        int[][] small = [[1, 4], [2, 9]];
        FewShotPrototypesStrategy.DescribeSupport(small, ["a", "b"], 40, 7)
            .ShouldBe("2 per class (4 in all), drawn with seed 7 from the run's 40 training examples; dataset indices: 'a' 1, 4; 'b' 2, 9");
        var large = Enumerable.Range(0, 4).Select(c => Enumerable.Range(0, 100).Select(i => c * 1000 + i).ToArray()).ToArray();
        var text = FewShotPrototypesStrategy.DescribeSupport(large, ["a", "b", "c", "d"], 9000, 7);
        text.ShouldContain("'b' 1000, 1001, 1002, 1003, 1004, …");
        text.ShouldNotContain("1005");
        text.ShouldMatch("SHA-256: [0-9a-f]{64}");
    }

    [Fact]
    public void FewShotPrototypes_ClassifyASeparableSetWithFiveShots_WithNoStepNoOptimiserAndNoChangedWeight()
    {
        var progress = new TestRuns.Recorder();
        Dictionary<string, Tensor>? after = null;
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(Job(Settings), progress, CancellationToken.None,
            m => after = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()));
        var r = outcome.Result;

        // 24 test images of two classes; chance is 0.5.
        r.TestExamples.ShouldBe(24);
        r.TestAccuracy.ShouldBeGreaterThan(0.9);
        r.BestValAccuracy.ShouldBeGreaterThan(0.9, "validated once, as it stands");
        r.Selection.ShouldBe(ModelSelection.NoTraining);
        // The loop builds its optimiser only for parameter groups and reports every step and epoch: none here.
        r.TrainableParameters.ShouldBe(0);
        progress.Steps.ShouldBeEmpty();
        progress.Epochs.ShouldBeEmpty();
        r.StrategyFacts.Select(f => f.Label).ShouldBe(["Support set", "Prototypes", "Features"]);

        // Every weight and BatchNorm statistic is the seeded initial one: nothing trained, nothing ran in train mode.
        using var fresh = TorchRuntime.BuildSeeded(Settings.Seed, () =>
        {
            var m = ArchitectureRegistry.Default.Create("resnet18");
            m.ResetClassifier(2);
            return m;
        });
        try
        {
            foreach (var (key, initial) in fresh.state_dict())
                TestRuns.Same(initial, after![key]).ShouldBeTrue(key);
        }
        finally { foreach (var t in after!.Values) t.Dispose(); }
    }

    [Fact]
    public void FewShotPrototypes_RecordTheSupportSetTheSeedDraws_FromTheRunsTrainingExamples()
    {
        var job = Job(Settings with { LabelsPerClass = 8 }, shots: 3);
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None);

        // The label budget keeps 8 per class; the support set is drawn from those, as the strategy's own draw says.
        var labels = job.Data.Images!.Labels;
        var pool = TrainingSelection.Select(job.Data.Split.Train, labels, 8, 0, Settings.Seed);
        var support = FewShotPrototypesStrategy.DrawSupport(pool, labels, job.Data.Info.ClassNames, 3, Settings.Seed);
        support.SelectMany(s => s).ShouldAllBe(i => pool.Contains(i));
        outcome.Result.StrategyFacts.Single(f => f.Label == "Support set").Value
            .ShouldBe(FewShotPrototypesStrategy.DescribeSupport(support, job.Data.Info.ClassNames, pool.Length, Settings.Seed));
        // What the run learnt from is the support set (3 of each class), not the 16 examples it was drawn from.
        outcome.Result.TrainExamples.ShouldBe(6);
        outcome.Result.TrainExamplesPerClass.ShouldBe([3, 3]);
    }

    [Fact]
    public void FewShotPrototypes_RunOnTexts_ThroughTheTinyBertsPooledFeatures()
    {
        var dir = Directory.CreateTempSubdirectory("modelzoo-fewshot-text-").FullName;
        try
        {
            var job = TinyBert.Job(dir, new HyperParameters { Seed = 3, MaxTokens = 64 }, "few-shot-prototypes", new JsonObject { ["shots"] = 4 });
            var r = new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None).Result;
            r.TrainableParameters.ShouldBe(0);
            r.TestExamples.ShouldBe(48);
            r.StrategyFacts.Single(f => f.Label == "Support set").Value.ShouldStartWith("4 per class (8 in all), drawn with seed 3 from the run's 144 training examples");
            r.StrategyFacts.Single(f => f.Label == "Prototypes").Value.ShouldContain("48 pre-logit features", Case.Sensitive, "the pooled [CLS] width");
            r.ConfusionMatrix.Sum(row => row.Sum()).ShouldBe(48);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void FewShotPrototypes_FailTheRun_WhenTheLabelBudgetLeavesFewerExamplesThanShots()
    {
        var e = Should.Throw<InvalidOperationException>(() => new Trainer(ArchitectureRegistry.Default)
            .Train(Job(Settings with { LabelsPerClass = 3 }, shots: 5), new TestRuns.Recorder(), CancellationToken.None));
        e.Message.ShouldStartWith("Shots must be at most 3: class 'dark' has only 3 training examples");
    }
}
