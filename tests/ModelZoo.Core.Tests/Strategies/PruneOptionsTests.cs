using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>Pruning's launch checks (issue 15's bad input): the sparsity's range, and a run to prune that did not
/// succeed, saved no model, learnt other classes, or was another model, dataset or image size.</summary>
public class PruneOptionsTests
{
    static readonly StrategyCatalog Catalog = new([.. TestStrategies.Catalog.All, StrategyDescription.Of<PruneOptions>()]);
    static readonly Guid SourceId = Guid.Parse("22222222-3333-4444-5555-666666666666");
    static readonly ModelFacts Model = TestStrategies.ResNet;
    static readonly DatasetInfo Digits = new() { Id = "digits", Title = "digits", ClassNames = ["0", "1", "2"], ClassCounts = [30, 30, 30] };
    static readonly DatasetInfo Letters = new() { Id = "letters", Title = "letters", ClassNames = ["0", "1", "2"], ClassCounts = [30, 30, 30] };

    static SourceRunFacts Source(RunStatus status = RunStatus.Succeeded, IReadOnlyList<string>? classes = null, bool weights = true,
        string? model = null, string dataset = "digits", int imageSize = 32) =>
        new(SourceId, status, model ?? Model.Id, dataset, "full-fine-tune", classes ?? ["0", "1", "2"], 11_000_000, weights)
        {
            Model = Model, ImageSize = imageSize, TestAccuracy = 0.98,
        };

    static RunRequest Request(JsonObject? options = null, string dataset = "digits", int imageSize = 32) => new()
    {
        ModelId = Model.Id, DatasetId = dataset, Strategy = "prune", Options = options, SourceRunId = SourceId,
        HyperParameters = new HyperParameters { ImageSize = imageSize },
    };

    static RunCheck Validate(RunRequest r, SourceRunFacts? source) =>
        RunRequestValidator.Validate(r, Catalog, id => id == Model.Id ? Model : null,
            id => id == Digits.Id ? Digits : id == Letters.Id ? Letters : null, id => id == SourceId ? source : null);

    [Fact]
    public void ASucceededRunOfTheSameModelAndData_IsAccepted_WithTheDefaults()
    {
        var check = Validate(Request(), Source());
        check.Errors.ShouldBeEmpty();
        var o = check.Options.ShouldBeOfType<PruneOptions>();
        o.Sparsity.ShouldBe(0.5);
        o.Scope.ShouldBe(PruneScope.Global);
        o.FineTuneEpochs.ShouldBe(1);
        Validate(Request(new JsonObject { ["sparsity"] = 0.99, ["scope"] = "Layer", ["fineTuneEpochs"] = 0 }), Source()).Errors.ShouldBeEmpty();
        Validate(Request(new JsonObject { ["sparsity"] = 0.0 }), Source()).Errors.ShouldBeEmpty();
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(0.995)]
    [InlineData(1.0)]
    public void ASparsityOutsideZeroTo0_99_IsRefused_NamingTheOption(double sparsity)
    {
        var e = Validate(Request(new JsonObject { ["sparsity"] = sparsity }), Source()).Errors;
        e.Keys.ShouldBe(["Options.sparsity"]);
        e["Options.sparsity"].ShouldContain("between 0 and 0.99");
    }

    [Fact]
    public void ARunToPrune_ThatDidNotSucceed_OrSavedNoModel_OrLearntOtherClasses_IsRefused_NamingSourceRunId()
    {
        Validate(Request() with { SourceRunId = null }, Source()).Errors["SourceRunId"].ShouldContain("needs a run to prune");
        Validate(Request(), Source(RunStatus.Failed)).Errors["SourceRunId"].ShouldContain("is failed");
        Validate(Request(), Source(RunStatus.Running)).Errors["SourceRunId"].ShouldContain("must be a run that succeeded");
        Validate(Request(), Source(weights: false)).Errors["SourceRunId"].ShouldContain("saved no trained model");
        var classes = Validate(Request(), Source(classes: ["a", "b", "c"])).Errors["SourceRunId"];
        classes.ShouldContain("'a'");
        classes.ShouldContain("same classes");
        Validate(Request(), null).Errors["SourceRunId"].ShouldContain("does not exist");
    }

    [Fact]
    public void ARunOfAnotherModel_DatasetOrImageSize_IsRefused_NamingTheField()
    {
        Validate(Request(), Source(model: "resnet50.tv_in1k")).Errors["ModelId"].ShouldContain("same model");
        // Same class names, another dataset: the fine-tune and test would be on data the model was not tested on.
        Validate(Request(dataset: "letters"), Source()).Errors["DatasetId"].ShouldContain("was tested on 'digits'");
        Validate(Request(imageSize: 64), Source()).Errors["HyperParameters.ImageSize"].ShouldContain("set the image size to 32");
    }

    [Fact]
    public void TheEndpointsPruneRun_KeepsTheSourcesTrainingSelection_RunsTheFineTunesEpochs_AndPassesTheLaunchChecks()
    {
        var source = new RunRequest
        {
            ModelId = Model.Id, DatasetId = "digits", Strategy = "full-fine-tune", Options = new JsonObject { ["layerwiseDecay"] = 0.7 }, Name = "src",
            HyperParameters = new HyperParameters { ImageSize = 32, Seed = 7, LabelsPerClass = 50, TrainLimit = 400, Epochs = 8, EarlyStoppingPatience = 2 },
        };
        var r = CompressionMethods.PruneRun(source, SourceId, 0.8, CompressionMethods.Layer, 3, "pruned");
        r.Strategy.ShouldBe("prune");
        r.SourceRunId.ShouldBe(SourceId);
        r.Options!.ToJsonString().ShouldBe("""{"sparsity":0.8,"scope":"Layer","fineTuneEpochs":3}""");
        r.HyperParameters.ShouldBe(source.HyperParameters with { Epochs = 3, Schedule = LearningRateSchedule.Constant, EarlyStoppingPatience = 0 });
        var check = Validate(r, Source());
        check.Errors.ShouldBeEmpty();
        var o = check.Options.ShouldBeOfType<PruneOptions>();
        (o.Sparsity, o.Scope, o.FineTuneEpochs).ShouldBe((0.8, PruneScope.Layer, 3));
        // No fine-tune: the run still asks for one epoch (the launch's minimum); the strategy trains none.
        CompressionMethods.PruneRun(source, SourceId, 0.5, null, 0).HyperParameters.Epochs.ShouldBe(1);
    }
}
