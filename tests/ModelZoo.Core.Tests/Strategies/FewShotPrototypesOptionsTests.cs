using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>The few-shot strategy's launch checks, through the validator the form and the API share.</summary>
public class FewShotPrototypesOptionsTests
{
    /// <summary>Three classes; 'rare' has 7 training examples (of 10), the others 56 (of 80).</summary>
    static readonly DatasetInfo Recorded = new()
    {
        Id = "shapes", Title = "Shapes", ClassNames = ["round", "square", "rare"], ClassCounts = [80, 80, 10],
        TrainClassCounts = [56, 56, 7], Examples = 170, Splits = new SplitSizes(119, 25, 26),
    };

    static IReadOnlyDictionary<string, string> Validate(DatasetInfo data, int? shots, HyperParameters? h = null, string model = "resnet18.tv_in1k") =>
        RunRequestValidator.Validate(
            new RunRequest
            {
                ModelId = model, DatasetId = data.Id, Strategy = "few-shot-prototypes", HyperParameters = h ?? new HyperParameters(),
                Options = shots is { } k ? new JsonObject { ["shots"] = k } : null,
            },
            TestStrategies.Catalog,
            id => id.StartsWith("bert") ? TestStrategies.Bert with { Id = id } : TestStrategies.ResNet with { Id = id },
            id => id == data.Id ? data : null).Errors;

    [Fact]
    public void Shots_DefaultToFive_AndMayGoUpToTheSmallestClassesTrainingCount()
    {
        Validate(Recorded, shots: null).ShouldBeEmpty();
        Validate(Recorded, shots: 7).ShouldBeEmpty();
    }

    [Fact]
    public void Shots_BeyondTheSmallestClassesTrainingCount_AreRefused_NamingTheOptionTheClassAndTheLimit()
    {
        var e = Validate(Recorded, shots: 8);
        e.Keys.ShouldBe(["Options.shots"]);
        e["Options.shots"].ShouldBe("Shots must be at most 7: class 'rare' has only 7 training examples.");
    }

    [Fact]
    public void Shots_AreCheckedAgainstTheTrainingSplit_NotTheWholeDataset()
    {
        // 'rare' has 10 examples in all but only 7 in the training split: 9 shots would pass a whole-dataset check.
        Validate(Recorded, shots: 9)["Options.shots"].ShouldContain("at most 7");
    }

    [Fact]
    public void Shots_ForFactsWithoutTrainingCounts_AreCheckedAgainstAnEstimate_AndSaySo()
    {
        var older = Recorded with { TrainClassCounts = [] };
        var (counts, estimated) = older.TrainingClassCounts();
        counts.ShouldBe([56, 56, 7], "80 × 119/170 = 56 and 10 × 119/170 = 7");
        estimated.ShouldBeTrue();
        Recorded.TrainingClassCounts().Estimated.ShouldBeFalse();
        Validate(older, shots: 7).ShouldBeEmpty();
        Validate(older, shots: 8)["Options.shots"]
            .ShouldBe("Shots must be at most 7: class 'rare' has about 7 training examples (estimated from dataset 'shapes''s split sizes).");
    }

    [Fact]
    public void Shots_BeyondTheLabelBudget_AreRefused_NamingTheBudget()
    {
        var e = Validate(Recorded, shots: 5, new HyperParameters { LabelsPerClass = 4 });
        e["Options.shots"].ShouldBe("Shots must be at most 4: the run's label budget keeps 4 training examples per class.");
        Validate(Recorded, shots: 4, new HyperParameters { LabelsPerClass = 4 }).ShouldBeEmpty();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void Shots_OutsideOneToOneHundred_AreRefusedByTheirLimits(int shots) =>
        Validate(Recorded, shots)["Options.shots"].ShouldBe($"Shots (k) must be between 1 and 100; it is {shots}.");

    [Fact]
    public void FewShotPrototypes_TrainNothing_AndServeImagesAndTexts()
    {
        var d = TestStrategies.Catalog.Find("few-shot-prototypes")!;
        d.Info.Trains.ShouldBeFalse("the form hides the optimiser");
        d.Fits(DatasetModality.Image).ShouldBeTrue();
        d.Fits(DatasetModality.Text).ShouldBeTrue();
        d.Options.Select(o => o.Name).ShouldBe(["shots", "logitScale"]);
        d.Options[0].Default.ShouldBe(5);
    }
}
