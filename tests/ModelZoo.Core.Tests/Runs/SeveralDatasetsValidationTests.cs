using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Tests.Strategies;

namespace ModelZoo.Core.Tests.Runs;

/// <summary>Launch checks of runs with further task datasets (multitask, continual) and of runs that learn from a
/// finished run, for every strategy alike (issue 15's "bad input" list).</summary>
public class SeveralDatasetsValidationTests
{
    static DatasetInfo Data(string id, DatasetModality m = DatasetModality.Image, string[]? classes = null) =>
        new() { Id = id, Title = id, Modality = m, ClassNames = classes ?? ["0", "1"], ClassCounts = [50, 50] };

    static readonly Dictionary<string, DatasetInfo> Datasets = new()
    {
        ["mnist"] = Data("mnist", classes: ["0", "1", "2"]),
        ["fashion"] = Data("fashion", classes: ["shirt", "shoe"]),
        ["optdigits"] = Data("optdigits"),
        ["letters"] = Data("letters", classes: ["a", "b"]),
        ["spam"] = Data("spam", DatasetModality.Text, ["ham", "spam"]),
        ["one-class"] = Data("one-class", classes: ["only"]),
    };

    static readonly RunRequest Multi = new() { ModelId = "resnet18.tv_in1k", DatasetId = "mnist", Strategy = "multitask", TaskDatasetIds = ["fashion"] };

    static RunCheck Check(RunRequest r, StrategyCatalog? catalog = null, Func<Guid, SourceRunFacts?>? runs = null) =>
        RunRequestValidator.Validate(r, catalog ?? TestStrategies.Catalog,
            id => id.StartsWith("resnet") ? TestStrategies.ResNet with { Id = id } : null, id => Datasets.GetValueOrDefault(id), runs);

    [Fact]
    public void Multitask_WithTwoImageDatasets_IsAccepted_AndSeesItsTasks()
    {
        var check = Check(Multi);
        check.Errors.ShouldBeEmpty();
        Check(Multi with { TaskDatasetIds = ["fashion", "optdigits", "letters"] }).Errors.ShouldBeEmpty("four tasks is the most");
    }

    [Fact]
    public void Multitask_WithOneDataset_IsRefused_NamingTheField()
    {
        var e = Check(Multi with { TaskDatasetIds = null }).Errors;
        e.Keys.ShouldBe(["TaskDatasetIds"]);
        e["TaskDatasetIds"].ShouldContain("needs 2 to 4 datasets");
        Check(Multi with { TaskDatasetIds = ["fashion", "optdigits", "letters", "spam"] }).Errors["TaskDatasetIds"].ShouldContain("at most 4");
    }

    [Fact]
    public void ATextDataset_ForAnImageBackbone_IsRefused()
    {
        var e = Check(Multi with { TaskDatasetIds = ["spam"] }).Errors;
        e["TaskDatasetIds"].ShouldContain("'spam' holds texts");
        e["TaskDatasetIds"].ShouldContain("images");
    }

    [Fact]
    public void AContinualSequence_ThatRepeatsATask_IsRefused()
    {
        var continual = Multi with { Strategy = "continual" };
        Check(continual).Errors.ShouldBeEmpty();
        Check(continual with { TaskDatasetIds = ["fashion", "fashion"] }).Errors["TaskDatasetIds"].ShouldContain("appears twice");
        Check(continual with { TaskDatasetIds = ["mnist"] }).Errors["TaskDatasetIds"].ShouldContain("already the run's first task");
    }

    [Fact]
    public void UnknownTaskDatasets_AndTasksForASingleTaskStrategy_AreRefused()
    {
        Check(Multi with { TaskDatasetIds = ["nope"] }).Errors["TaskDatasetIds"].ShouldContain("'nope' does not exist");
        Check(Multi with { Strategy = "full-fine-tune" }).Errors["TaskDatasetIds"].ShouldContain("learns one dataset");
        Check(Multi with { TaskDatasetIds = ["one-class"] }).Errors["TaskDatasetIds"].ShouldContain("needs at least 2");
    }

    [Fact]
    public void MultitaskOptions_ForTasksTheRunDoesNotHave_AreRefused()
    {
        var e = Check(Multi with { Options = new JsonObject { ["task3Weight"] = 2.0 } }).Errors;
        e.Keys.ShouldBe(["Options.task3Weight"]);
        e["Options.task3Weight"].ShouldContain("has 2 tasks");
        Check(Multi with { Options = new JsonObject { ["task1Weight"] = 0.0, ["task2Weight"] = 0.0 } }).Errors.Keys.ShouldBe(["Options.task1Weight"]);
        Check(Multi with { HyperParameters = new HyperParameters { BatchSize = 1 } }).Errors.ContainsKey("HyperParameters.BatchSize").ShouldBeTrue();
    }

    [Fact]
    public void ContinualOptions_OfAnotherMethod_AndEarlyStopping_AreRefused()
    {
        var continual = Multi with { Strategy = "continual" };
        Check(continual with { Options = new JsonObject { ["method"] = "Ewc", ["temperature"] = 4.0 } }).Errors.Keys.ShouldBe(["Options.temperature"]);
        Check(continual with { Options = new JsonObject { ["method"] = "LwF", ["ewcLambda"] = 5.0 } }).Errors.Keys.ShouldBe(["Options.ewcLambda"]);
        Check(continual with { HyperParameters = new HyperParameters { EarlyStoppingPatience = 2 } }).Errors.ContainsKey("HyperParameters.EarlyStoppingPatience").ShouldBeTrue();
    }

    // A strategy that learns from a finished run, as distillation does; its options are none.
    sealed record NoOptions : StrategyOptions, IStrategyDefinition<NoOptions>
    {
        public static StrategyInfo Info { get; } = new()
        {
            Id = "from-run", Title = "From a run", Summary = "s", Explanation = "e",
            SourceRun = new SourceRunRole("Teacher run", "The run whose model teaches."),
        };
    }

    static readonly StrategyCatalog WithTeacher = new([.. TestStrategies.Catalog.All, StrategyDescription.Of<NoOptions>()]);
    static readonly Guid Good = Guid.NewGuid(), Failed = Guid.NewGuid(), Other = Guid.NewGuid(), NoFile = Guid.NewGuid();

    static SourceRunFacts? Runs(Guid id) =>
        id == Good ? new(id, RunStatus.Succeeded, "resnet50.x", "mnist", "full-fine-tune", ["0", "1", "2"], 25_000_000, true)
        : id == Failed ? new(id, RunStatus.Failed, "resnet50.x", "mnist", "full-fine-tune", [], null, false)
        : id == Other ? new(id, RunStatus.Succeeded, "resnet50.x", "fashion", "full-fine-tune", ["shirt", "shoe"], 25_000_000, true)
        : id == NoFile ? new(id, RunStatus.Succeeded, "resnet50.x", "mnist", "full-fine-tune", ["0", "1", "2"], 25_000_000, false)
        : null;

    [Fact]
    public void ASourceRun_MustHaveSucceeded_WithItsModel_AndTheSameClasses()
    {
        var r = new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "mnist", Strategy = "from-run" };
        Check(r with { SourceRunId = Good }, WithTeacher, Runs).Errors.ShouldBeEmpty();
        Check(r, WithTeacher, Runs).Errors["SourceRunId"].ShouldContain("needs a teacher run");
        Check(r with { SourceRunId = Guid.NewGuid() }, WithTeacher, Runs).Errors["SourceRunId"].ShouldContain("does not exist");
        Check(r with { SourceRunId = Failed }, WithTeacher, Runs).Errors["SourceRunId"].ShouldContain("is failed");
        Check(r with { SourceRunId = NoFile }, WithTeacher, Runs).Errors["SourceRunId"].ShouldContain("saved no trained model");
        var classes = Check(r with { SourceRunId = Other }, WithTeacher, Runs).Errors["SourceRunId"];
        classes.ShouldContain("'shirt'");
        classes.ShouldContain("same classes");
        Check(Multi with { SourceRunId = Good }, WithTeacher, Runs).Errors["SourceRunId"].ShouldContain("learns from no other run");
    }
}
