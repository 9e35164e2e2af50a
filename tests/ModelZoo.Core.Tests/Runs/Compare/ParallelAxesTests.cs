using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Compare;

namespace ModelZoo.Core.Tests.Runs.Compare;

public class ParallelAxesTests
{
    static RunView Run(string strategy, double lr, int? budget, double acc, int seed = 1, bool finished = true) => new()
    {
        Id = Guid.NewGuid(), ModelId = "resnet18.tv_in1k", DatasetId = "d", Strategy = strategy,
        Status = finished ? RunStatus.Succeeded : RunStatus.Running,
        Request = new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "d", Strategy = strategy,
            HyperParameters = new HyperParameters { LearningRate = lr, LabelsPerClass = budget, Seed = seed } },
        Result = finished ? new RunResult { TestAccuracy = acc, TestExamples = 10 } : null,
    };

    [Fact]
    public void OnlySettingsThatDiffer_GetAnAxis_AndTestAccuracyComesLast()
    {
        var (axes, runs) = ParallelAxes.Of([Run("scratch", 1e-3, 10, 0.8), Run("partial-fine-tune", 1e-4, 100, 0.9), Run("scratch", 1e-3, null, 0.7, finished: false)]);
        runs.Count.ShouldBe(2, "a running run has no result to draw");
        axes.Select(a => a.Label).ShouldBe(["strategy", "learning rate", "label budget", "test accuracy"]);
        axes[^1].Values.ShouldBe([0.8, 0.9]);
    }

    [Fact]
    public void Categories_AreIndexedInOrderWithTheirNames_AndRatesSitOnALogAxis()
    {
        var (axes, _) = ParallelAxes.Of([Run("scratch", 1e-3, 10, 0.8), Run("partial-fine-tune", 1e-4, null, 0.9), Run("scratch", 3e-4, 100, 0.85)]);
        var strategy = axes.Single(a => a.Label == "strategy");
        strategy.TickText.ShouldBe(["partial-fine-tune", "scratch"]);
        strategy.Values.ShouldBe([1.0, 0.0, 1.0]);
        var budget = axes.Single(a => a.Label == "label budget");
        budget.TickText.ShouldBe(["10 per class", "100 per class", "all"], "budgets sort by size, 'all' last");
        budget.Values.ShouldBe([0.0, 2.0, 1.0]);
        var lr = axes.Single(a => a.Label == "learning rate");
        lr.Values[0].ShouldBe(-3, tolerance: 1e-12);
        lr.TickText.ShouldBe(["0.0001", "0.0003", "0.001"]);
    }

    [Fact]
    public void FewerThanTwoFinishedRuns_DrawNothing()
    {
        ParallelAxes.Of([Run("scratch", 1e-3, 10, 0.8)]).Axes.ShouldBeEmpty();
    }
}
