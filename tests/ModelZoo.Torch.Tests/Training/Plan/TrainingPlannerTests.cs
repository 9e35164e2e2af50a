using System.Text.Json.Nodes;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Plan;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Training.Plan;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training.Plan;

/// <summary>The trainable map of a real resnet18 on the meta device, as the registered strategies leave it.</summary>
public class TrainingPlannerTests
{
    static readonly ModelManifest ResNet18 = new()
    {
        Id = "resnet18.tv_in1k", Architecture = "resnet18", Head = new HeadInfo { Classifier = "fc", NumClasses = 1000 },
        Preprocessing = new Preprocessing { InputSize = 224 },
    };

    static readonly DatasetInfo Digits = new()
    {
        Id = "digits", Title = "Digits", ClassNames = ["0", "1", "2"], Examples = 300, Splits = new SplitSizes(200, 50, 50),
        TrainClassCounts = [70, 70, 60], ClassCounts = [100, 100, 100],
    };

    static TrainingMap Map(string strategy, JsonObject? options = null, HyperParameters? h = null, string? target = null) =>
        new TrainingPlanner(ArchitectureRegistry.Default, StrategyRegistry.Default).Map(new PlanRequest(
            new RunRequest
            {
                ModelId = ResNet18.Id, DatasetId = Digits.Id, Strategy = strategy, Options = options, TargetDatasetId = target,
                HyperParameters = h ?? new HyperParameters { LearningRate = 1e-3, Epochs = 3 },
            },
            ResNet18, ArchitectureOptions.Of(ResNet18), Digits, HasWeights: true));

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void PartialFineTune_AtDepthK_FreezesExactlyTheFirstKStages_WithBatchNormInEval(int k)
    {
        var map = Map("partial-fine-tune", new JsonObject { ["frozenStages"] = k });
        var stages = map.Rows.Where(r => !r.Extra).ToList();
        stages.Select(r => r.Name).ShouldBe(["stem", "layer1", "layer2", "layer3", "layer4", "head"]);
        for (int i = 0; i < stages.Count; i++)
        {
            var row = stages[i];
            if (i < k)
            {
                row.Frozen.ShouldBeTrue(row.Name);
                row.BatchNorm.ShouldBe(ModuleMode.Eval, row.Name);
                row.Mode.ShouldBe(ModuleMode.Eval, row.Name);
                row.LearningRate.ShouldBeNull(row.Name);
            }
            else
            {
                row.TrainedParameters.ShouldBe(row.Parameters, row.Name);
                if (row.Name != "head") row.BatchNorm.ShouldBe(ModuleMode.Train, row.Name);
                row.LearningRate.ShouldNotBeNull(row.Name);
            }
        }
        // The head is new: no BatchNorm, not pretrained; the backbone's stages are.
        stages[^1].BatchNorm.ShouldBeNull();
        stages[^1].Pretrained.ShouldBeFalse();
        stages[..^1].ShouldAllBe(r => r.Pretrained);
        map.TotalParameters.ShouldBe(11_178_051); // resnet18's 11,689,512 less its 513,000-parameter ImageNet head, plus a 3-class head's 1,539
        map.TrainedParameters.ShouldBe(stages.Skip(k).Sum(r => r.Parameters));
        map.Schedule.ShouldBeEmpty();
    }

    [Fact]
    public void FullFineTune_WithLayerwiseDecay_GivesRatesThatFallFromTheHeadDown()
    {
        var map = Map("full-fine-tune", new JsonObject { ["layerwiseDecay"] = 0.5 });
        var rates = map.Rows.Select(r => r.LearningRate!.Value).ToList();
        rates[^1].ShouldBe(1e-3, 1e-12);
        for (int i = 0; i < rates.Count - 1; i++) rates[i].ShouldBe(rates[i + 1] * 0.5, 1e-12);
        map.Rows.ShouldAllBe(r => !r.Frozen && r.Mode == ModuleMode.Train);
        map.TrainedParameters.ShouldBe(map.TotalParameters);
    }

    [Fact]
    public void GradualUnfreezing_ShowsEpochOne_AndTheEpochsThatUnfreezeEachStage()
    {
        var map = Map("full-fine-tune", new JsonObject { ["unfreezing"] = "StageByStage", ["frozenEpochs"] = 1 },
            new HyperParameters { Epochs = 7, LearningRate = 1e-3 });
        map.Rows.Where(r => r.Name != "head").ShouldAllBe(r => r.Frozen && r.BatchNorm == ModuleMode.Eval);
        // One head-only epoch, then one more stage from the top each epoch: all five are training from epoch 6.
        map.Schedule.Select(s => (s.From, s.To, s.Frozen.Count)).ShouldBe([(1, 1, 5), (2, 2, 4), (3, 3, 3), (4, 4, 2), (5, 5, 1), (6, 7, 0)]);
        map.Schedule[1].Frozen.ShouldBe(["stem", "layer1", "layer2", "layer3"]);
    }

    [Fact]
    public void FeatureExtraction_PlansWithoutItsFeaturePass_AndTrainsTheHeadAlone()
    {
        var map = Map("feature-extraction");
        map.Rows.Where(r => r.Name != "head").ShouldAllBe(r => r.Frozen && r.Mode == ModuleMode.Eval);
        map.Rows.Single(r => r.Name == "head").TrainedParameters.ShouldBe(512 * 3 + 3);
    }

    [Fact]
    public void FewShotPrototypes_TrainNothing_AndTheMapSaysSo()
    {
        var map = Map("few-shot-prototypes");
        map.GradientTraining.ShouldBeFalse();
        map.TrainedParameters.ShouldBe(0);
        map.Rows.ShouldAllBe(r => r.Frozen && r.Mode == ModuleMode.Eval);
    }

    [Fact]
    public void Dann_AddsItsDomainClassifier_AsANewTrainedRow()
    {
        var map = Map("dann", new JsonObject { ["hiddenWidth"] = 64 }, target: "other");
        var extra = map.Rows.Single(r => r.Extra);
        extra.Parameters.ShouldBe(512 * 64 + 64 + 64 + 1);
        extra.TrainedParameters.ShouldBe(extra.Parameters);
        extra.Pretrained.ShouldBeFalse();
    }

    [Theory]
    [InlineData("multitask")]
    [InlineData("continual")]
    public void RunsWithSeveralTasks_ShowTheFurtherHeads_AsANewTrainedRow(string strategy)
    {
        var fashion = Digits with { Id = "fashion", ClassNames = ["a", "b", "c", "d", "e"] };
        var map = new TrainingPlanner(ArchitectureRegistry.Default, StrategyRegistry.Default).Map(new PlanRequest(
            new RunRequest { ModelId = ResNet18.Id, DatasetId = Digits.Id, Strategy = strategy, TaskDatasetIds = [fashion.Id] },
            ResNet18, ArchitectureOptions.Of(ResNet18), Digits, HasWeights: true) { Tasks = [fashion] });
        var heads = map.Rows.Single(r => r.Extra);
        heads.Parameters.ShouldBe(512 * 5 + 5, "task 2's head: 512 pooled features to its 5 classes");
        heads.TrainedParameters.ShouldBe(heads.Parameters);
        map.Rows.Where(r => !r.Extra).ShouldAllBe(r => r.TrainedParameters == r.Parameters, "the shared backbone trains");
    }

    [Fact]
    public void Planning_LeavesTheDefaultDeviceOnTheCpu()
    {
        Map("partial-fine-tune");
        using var t = zeros(1);
        t.device_type.ShouldBe(DeviceType.CPU);
    }
}
