using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Training.Strategies;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>The fine-tuning strategies, checked through the uniform model API only (no architecture switches).</summary>
[Collection(TorchGlobalRngCollection.Name)]
public class StrategyTests
{
    public static TheoryData<string> Architectures() => new() { "resnet18", "mobilenet_v2", "mobilenet_v3_small" };

    static ZooModel Build(string arch)
    {
        var m = ArchitectureRegistry.Default.Create(arch);
        m.ResetClassifier(3);
        return m;
    }

    static long StageParameters(ZooModel m, IEnumerable<string> stages)
    {
        var set = stages.ToHashSet();
        return m.ParameterGroups().Where(g => set.Contains(g.Name)).Sum(g => g.Parameters.Sum(p => p.Parameter.numel()));
    }

    static long RequiresGrad(ZooModel m) => m.parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    [Theory]
    [MemberData(nameof(Architectures))]
    public void FullFineTune_TrainsEveryParameter_InEveryStage(string arch)
    {
        using var m = Build(arch);
        var s = TransferStrategies.For(StrategyKind.FullFineTune);
        s.Configure(m);
        var groups = s.OptimizerGroups(m, 1e-3);
        RequiresGrad(m).ShouldBe(m.ParameterCount());
        groups.Sum(g => g.Parameters.Sum(p => p.numel())).ShouldBe(StageParameters(m, m.StageNames));
        s.BackboneFrozen.ShouldBeFalse();
        s.SetTrainingMode(m);
        m.modules().ShouldAllBe(x => x.training);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void PartialFineTune_TrainsTheLaterHalfOfTheBackbone_AndTheHead(string arch)
    {
        using var m = Build(arch);
        var (frozen, trained) = PartialFineTuneStrategy.Split(m);
        int backbone = m.StageNames.Count - 1;
        (frozen.Count + trained.Count).ShouldBe(m.StageNames.Count);
        trained.Count.ShouldBe(Math.Max(1, (backbone + 1) / 2) + 1);
        trained[^1].ShouldBe(m.StageNames[^1], "the head always trains");
        frozen.ShouldNotBeEmpty();

        var s = TransferStrategies.For(StrategyKind.PartialFineTune);
        s.Configure(m);
        RequiresGrad(m).ShouldBe(StageParameters(m, trained));
        s.OptimizerGroups(m, 1e-3).Sum(g => g.Parameters.Sum(p => p.numel())).ShouldBe(StageParameters(m, trained));
        RequiresGrad(m).ShouldBeLessThan(m.ParameterCount());
    }

    [Fact]
    public void PartialFineTune_Describe_NamesResNetStages()
    {
        using var m = Build("resnet18");
        var (frozen, trained) = PartialFineTuneStrategy.Split(m);
        frozen.ShouldBe(["stem", "layer1"]);
        trained.ShouldBe(["layer2", "layer3", "layer4", "head"]);
        PartialFineTuneStrategy.Describe(m).ShouldEndWith("Here, layer2, layer3, layer4 and head train; stem and layer1 are frozen.");
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void PartialFineTune_KeepsFrozenBatchNormStatistics_WhileTrainedStagesUpdateTheirs(string arch)
    {
        using var m = Build(arch);
        var s = TransferStrategies.For(StrategyKind.PartialFineTune);
        s.Configure(m);
        var (frozen, trained) = PartialFineTuneStrategy.Split(m);
        Dictionary<string, Tensor> RunningMeans(IEnumerable<string> stages) => stages
            .SelectMany(st => m.StageModules(st).SelectMany((mod, i) => mod.named_buffers().Select(b => (Key: $"{st}/{i}/{b.name}", b.buffer))))
            .Where(b => b.Key.EndsWith("running_mean", StringComparison.Ordinal))
            .ToDictionary(b => b.Key, b => b.buffer.clone());
        var frozenBefore = RunningMeans(frozen);
        var trainedBefore = RunningMeans(trained);
        frozenBefore.ShouldNotBeEmpty();
        trainedBefore.ShouldNotBeEmpty();

        var groups = s.OptimizerGroups(m, 1e-3);
        using var opt = optim.AdamW(groups.Select(g => new TorchSharp.Modules.AdamW.ParamGroup(g.Parameters, new TorchSharp.Modules.AdamW.Options { LearningRate = g.LearningRate })));
        s.SetTrainingMode(m);
        using (var scope = NewDisposeScope())
        {
            var x = randn(4, 3, 32, 32);
            var loss = nn.functional.cross_entropy(m.call(x), tensor(new long[] { 0, 1, 2, 0 }));
            opt.zero_grad();
            loss.backward();
            opt.step();
        }

        var frozenAfter = RunningMeans(frozen);
        var trainedAfter = RunningMeans(trained);
        foreach (var (k, v) in frozenBefore) v.eq(frozenAfter[k]).all().item<bool>().ShouldBeTrue($"{arch}: frozen {k} changed");
        trainedBefore.Count(kv => !kv.Value.eq(trainedAfter[kv.Key]).all().item<bool>()).ShouldBe(trainedBefore.Count, $"{arch}: every trained BatchNorm updates");
        foreach (var st in frozen)
            foreach (var mod in m.StageModules(st)) mod.modules().Append(mod).ShouldAllBe(x => !x.training);
    }

    [Theory]
    [InlineData(StrategyKind.FullFineTune)]
    [InlineData(StrategyKind.PartialFineTune)]
    public void LearningRates_DecayPerStage_FromTheHead(StrategyKind kind)
    {
        using var m = Build("resnet18");
        var s = TransferStrategies.For(kind);
        s.Configure(m);
        var groups = s.OptimizerGroups(m, 1e-2);
        var stages = m.ParameterGroups();
        groups[0].LearningRate.ShouldBe(1e-2, "the head, first, gets the base rate");
        foreach (var (parameters, lr) in groups)
        {
            var first = parameters.First();
            int index = stages.Select((g, i) => (g, i)).Single(t => t.g.Parameters.Any(p => ReferenceEquals(p.Parameter, first))).i;
            int distance = stages.Count - 1 - index;
            lr.ShouldBe(1e-2 * Math.Pow(StrategyDescriptions.LayerwiseDecay, distance), 1e-12);
        }
        groups.Count.ShouldBe(kind == StrategyKind.FullFineTune ? 6 : 4);
    }

    sealed class NoProgress : IRunProgress
    {
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics epoch) { }
    }

    [Fact]
    public void FullFineTune_LearnsASeparableTask_AndTrainsEverything()
    {
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(
            TrainerTests.Job(new HyperParameters { Epochs = 4, BatchSize = 16, LearningRate = 1e-3, ImageSize = 16, Seed = 5 }, StrategyKind.FullFineTune),
            new NoProgress(), CancellationToken.None);
        outcome.Result.TestAccuracy.ShouldBeGreaterThan(0.9);
        outcome.Result.TrainableParameters.ShouldBe(outcome.Result.TotalParameters);
    }

    [Fact]
    public void PartialFineTune_LearnsASeparableTask_AndTrainsOnlyTheLaterStages()
    {
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(
            TrainerTests.Job(new HyperParameters { Epochs = 4, BatchSize = 16, LearningRate = 1e-3, ImageSize = 16, Seed = 5 }, StrategyKind.PartialFineTune),
            new NoProgress(), CancellationToken.None);
        outcome.Result.TestAccuracy.ShouldBeGreaterThan(0.9);
        using var m = Build("resnet18");
        m.ResetClassifier(2);
        outcome.Result.TrainableParameters.ShouldBe(StageParameters(m, PartialFineTuneStrategy.Split(m).Trained));
    }
}
