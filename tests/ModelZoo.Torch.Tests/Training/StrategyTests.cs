using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
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

    static long Sum(IReadOnlyList<ParameterGroupSpec> groups) => groups.Sum(g => g.Parameters.Sum(p => p.numel()));

    [Fact]
    public void EveryRegisteredStrategy_HasAnOptionsRecordInCore_AndAClassHere()
    {
        var ids = StrategyRegistry.Default.All.Select(s => s.Id).ToList();
        ids.ShouldContain("scratch");
        ids.ShouldContain("feature-extraction");
        ids.ShouldContain("partial-fine-tune");
        ids.ShouldContain("full-fine-tune");
        ids.ShouldContain("few-shot-prototypes");
        ids.ShouldContain("text-fine-tune");
        ids.ShouldContain("dann");
        ids.ShouldContain("adabn");
        foreach (var d in StrategyRegistry.Default.All)
        {
            d.OptionsType.Assembly.GetName().Name.ShouldBe("ModelZoo.Core", $"{d.Id}: its description lives in Core");
            using var s = StrategyRegistry.Default.Create(d, (StrategyOptions)Activator.CreateInstance(d.OptionsType)!);
            s.GetType().Assembly.GetName().Name.ShouldBe("ModelZoo.Torch");
        }
    }

    [Fact]
    public void Registry_RefusesAnIdTwice_AndOptionsOfAnotherStrategy()
    {
        Should.Throw<InvalidOperationException>(() => new StrategyRegistry().Add<ScratchOptions, ScratchStrategy>().Add<ScratchOptions, ScratchStrategy>());
        Should.Throw<ArgumentException>(() => StrategyRegistry.Default.Create(StrategyRegistry.Default.Find("scratch")!, new FullFineTuneOptions()));
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void FullFineTune_TrainsEveryParameter_InEveryStage(string arch)
    {
        using var m = Build(arch);
        var (run, s) = TestRuns.Prepare(m, "full-fine-tune");
        s.Setup(run);
        var groups = s.ParameterGroups(run);
        s.BeginEpoch(run, 1);
        RequiresGrad(m).ShouldBe(m.ParameterCount());
        Sum(groups).ShouldBe(StageParameters(m, m.StageNames));
        m.modules().ShouldAllBe(x => x.training);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    public void PartialFineTune_FreezesExactlyTheChosenDepth(int depth)
    {
        using var m = Build("resnet18");
        var (run, s) = TestRuns.Prepare(m, "partial-fine-tune", new JsonObject { ["frozenStages"] = depth });
        s.Setup(run);
        var groups = s.ParameterGroups(run);
        var (frozen, trained) = PartialFineTuneStrategy.Split(m, depth);
        frozen.ShouldBe(m.StageNames.Take(depth));
        RequiresGrad(m).ShouldBe(StageParameters(m, trained));
        Sum(groups).ShouldBe(StageParameters(m, trained));
        s.Facts(run).First(f => f.Label == "Frozen stages").Value.ShouldStartWith(depth == 0 ? "none" : string.Join(", ", frozen));
    }

    [Fact]
    public void PartialFineTune_RefusesADepthBeyondTheModel()
    {
        using var m = Build("resnet18");
        Should.Throw<ArgumentOutOfRangeException>(() => PartialFineTuneStrategy.Split(m, 6));
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void PartialFineTune_KeepsFrozenBatchNormStatistics_WhileTrainedStagesUpdateTheirs(string arch)
    {
        using var m = Build(arch);
        var (run, s) = TestRuns.Prepare(m, "partial-fine-tune", new JsonObject { ["frozenStages"] = 2 });
        s.Setup(run);
        var (frozen, trained) = PartialFineTuneStrategy.Split(m, 2);
        Dictionary<string, Tensor> RunningMeans(IEnumerable<string> stages) => stages
            .SelectMany(st => m.StageModules(st).SelectMany((mod, i) => mod.named_buffers().Select(b => (Key: $"{st}/{i}/{b.name}", b.buffer))))
            .Where(b => b.Key.EndsWith("running_mean", StringComparison.Ordinal))
            .ToDictionary(b => b.Key, b => b.buffer.clone());
        var frozenBefore = RunningMeans(frozen);
        var trainedBefore = RunningMeans(trained);
        frozenBefore.ShouldNotBeEmpty();
        trainedBefore.ShouldNotBeEmpty();

        using var optimization = Optimization.Create(new HyperParameters(), s.ParameterGroups(run));
        s.BeginEpoch(run, 1);
        using (var scope = NewDisposeScope())
        {
            var x = randn(4, 3, 32, 32);
            var loss = nn.functional.cross_entropy(m.call(x), tensor(new long[] { 0, 1, 2, 0 }));
            optimization.Optimizer.zero_grad();
            loss.backward();
            optimization.Optimizer.step();
        }

        var frozenAfter = RunningMeans(frozen);
        var trainedAfter = RunningMeans(trained);
        foreach (var (k, v) in frozenBefore) v.eq(frozenAfter[k]).all().item<bool>().ShouldBeTrue($"{arch}: frozen {k} changed");
        trainedBefore.Count(kv => !kv.Value.eq(trainedAfter[kv.Key]).all().item<bool>()).ShouldBe(trainedBefore.Count, $"{arch}: every trained BatchNorm updates");
        foreach (var st in frozen)
            foreach (var mod in m.StageModules(st)) mod.modules().Append(mod).ShouldAllBe(x => !x.training);
    }

    [Theory]
    [InlineData("full-fine-tune", 6)]
    [InlineData("partial-fine-tune", 4)]
    public void LearningRates_DecayPerStage_FromTheHead(string strategy, int groupCount)
    {
        using var m = Build("resnet18");
        var (run, s) = TestRuns.Prepare(m, strategy, new JsonObject { ["layerwiseDecay"] = 0.5 });
        s.Setup(run);
        var groups = s.ParameterGroups(run);
        var stages = m.ParameterGroups();
        groups[0].LearningRateScale.ShouldBe(1, "the head, first, gets the base rate");
        foreach (var g in groups)
        {
            var first = g.Parameters[0];
            int index = stages.Select((st, i) => (st, i)).Single(t => t.st.Parameters.Any(p => ReferenceEquals(p.Parameter, first))).i;
            g.LearningRateScale.ShouldBe(Math.Pow(0.5, stages.Count - 1 - index), 1e-12);
        }
        groups.Count.ShouldBe(groupCount);
    }

    [Fact]
    public void GradualUnfreezing_HeadFirst_FreezesTheBodyForTheHeadOnlyEpochs_ThenTrainsAll()
    {
        string[] stages = ["stem", "layer1", "layer2", "head"];
        var o = new FullFineTuneOptions { Unfreezing = UnfreezingMode.HeadFirst, FrozenEpochs = 2 };
        FullFineTuneStrategy.FrozenDuring(stages, o, 1).ShouldBe(["stem", "layer1", "layer2"]);
        FullFineTuneStrategy.FrozenDuring(stages, o, 2).ShouldBe(["stem", "layer1", "layer2"]);
        FullFineTuneStrategy.FrozenDuring(stages, o, 3).ShouldBeEmpty();
        var ulmfit = o with { Unfreezing = UnfreezingMode.StageByStage, FrozenEpochs = 1 };
        FullFineTuneStrategy.FrozenDuring(stages, ulmfit, 2).ShouldBe(["stem", "layer1"], "the top stage joins first");
        FullFineTuneStrategy.FrozenDuring(stages, ulmfit, 3).ShouldBe(["stem"]);
        FullFineTuneStrategy.FrozenDuring(stages, ulmfit, 9).ShouldBeEmpty();
        FullFineTuneStrategy.FrozenDuring(stages, new FullFineTuneOptions(), 1).ShouldBeEmpty();
    }

    [Fact]
    public void GradualUnfreezing_FreezesParametersAndBatchNorm_InTheHeadOnlyEpochs()
    {
        using var m = Build("resnet18");
        var (run, s) = TestRuns.Prepare(m, "full-fine-tune", new JsonObject { ["unfreezing"] = "HeadFirst", ["frozenEpochs"] = 1 });
        s.Setup(run);
        s.ParameterGroups(run);
        s.BeginEpoch(run, 1);
        RequiresGrad(m).ShouldBe(StageParameters(m, ["head"]));
        m.StageModules("layer4").ShouldAllBe(x => !x.training);
        s.BeginEpoch(run, 2);
        RequiresGrad(m).ShouldBe(m.ParameterCount());
        m.modules().ShouldAllBe(x => x.training);
    }

    [Fact]
    public void Scratch_TrainsEverythingAtOneRate_AndLoadsNoWeights()
    {
        using var m = Build("resnet18");
        var (run, s) = TestRuns.Prepare(m, "scratch");
        s.LoadsPretrainedWeights.ShouldBeFalse();
        var groups = s.ParameterGroups(run);
        groups.ShouldHaveSingleItem().LearningRateScale.ShouldBe(1);
        Sum(groups).ShouldBe(m.ParameterCount());
    }

    [Fact]
    public void Optimization_DecaysWeightsOnly_NeverNormsOrBiases()
    {
        using var m = Build("resnet18");
        var (run, s) = TestRuns.Prepare(m, "full-fine-tune");
        using var o = Optimization.Create(new HyperParameters { WeightDecay = 0.05 }, s.ParameterGroups(run));
        var groups = o.Optimizer.ParamGroups.Cast<TorchSharp.Modules.AdamW.ParamGroup>().ToList();
        groups.Count.ShouldBe(12, "six stages, each split into weights and norms/biases");
        foreach (var g in groups)
        {
            var decay = ((TorchSharp.Modules.AdamW.Options)g.Options).weight_decay;
            if (g.Parameters.All(p => p.dim() <= 1)) decay.ShouldBe(0);
            else { decay.ShouldBe(0.05); g.Parameters.ShouldAllBe(p => p.dim() > 1); }
        }
    }

    [Theory]
    [InlineData(LearningRateSchedule.WarmupCosine)]
    [InlineData(LearningRateSchedule.OneCycle)]
    [InlineData(LearningRateSchedule.Constant)]
    public void Schedules_AreFunctionsOfTheStep(LearningRateSchedule schedule)
    {
        var f = Enumerable.Range(0, 100).Select(i => LearningRateSchedules.Factor(schedule, 0.1, i, 100)).ToArray();
        f.ShouldAllBe(v => v > 0 && v <= 1.0000001);
        switch (schedule)
        {
            case LearningRateSchedule.Constant: f.ShouldAllBe(v => v == 1); break;
            case LearningRateSchedule.WarmupCosine:
                f[0].ShouldBeLessThan(0.1, "warmup starts low");
                f[10].ShouldBe(1, 1e-9, "the peak follows the warmup");
                f[99].ShouldBeLessThan(0.01, "cosine ends near zero");
                f.Skip(10).ShouldBeInOrder(SortDirection.Descending);
                break;
            case LearningRateSchedule.OneCycle:
                f[0].ShouldBe(1 / 25.0, 1e-9);
                f.Max().ShouldBe(1, 1e-2);
                f[99].ShouldBeLessThan(1e-3);
                break;
        }
    }

    [Fact]
    public void FullFineTune_LearnsASeparableTask_AndTrainsEverything()
    {
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(
            TrainerTests.Job(new HyperParameters { Epochs = 4, BatchSize = 16, LearningRate = 1e-3, ImageSize = 16, Seed = 5 }, "full-fine-tune"),
            new TestRuns.Recorder(), CancellationToken.None);
        outcome.Result.TestAccuracy.ShouldBeGreaterThan(0.9);
        outcome.Result.TrainableParameters.ShouldBe(outcome.Result.TotalParameters);
    }

    [Fact]
    public void PartialFineTune_LearnsASeparableTask_AndTrainsOnlyTheLaterStages()
    {
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(
            TrainerTests.Job(new HyperParameters { Epochs = 4, BatchSize = 16, LearningRate = 1e-3, ImageSize = 16, Seed = 5 }, "partial-fine-tune"),
            new TestRuns.Recorder(), CancellationToken.None);
        outcome.Result.TestAccuracy.ShouldBeGreaterThan(0.9);
        using var m = Build("resnet18");
        m.ResetClassifier(2);
        outcome.Result.TrainableParameters.ShouldBe(StageParameters(m, PartialFineTuneStrategy.Split(m, 2).Trained));
        outcome.Result.StrategyFacts.ShouldContain(f => f.Label == "Frozen stages" && f.Value.StartsWith("stem, layer1"));
    }
}
