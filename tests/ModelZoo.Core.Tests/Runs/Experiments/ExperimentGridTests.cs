using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;

namespace ModelZoo.Core.Tests.Runs.Experiments;

public class ExperimentGridTests
{
    static readonly IReadOnlyList<GridColumn> Columns =
    [
        new(0, "feature-extraction", null, null, "feature-extraction"),
        new(1, "full-fine-tune", null, null, "full-fine-tune"),
    ];

    static int _n;
    static GridRun Run(string model, int column, int seed, RunStatus status, double? acc = null) =>
        new(new Guid(Interlocked.Increment(ref _n), 0, 0, new byte[8]), model, column, seed, status, acc);

    [Fact]
    public void ACell_IsTheMeanAndSampleStdOfItsSucceededSeeds_WithNOfPlanned()
    {
        var grid = ExperimentGrid.Build(["a"], Columns,
        [
            Run("a", 0, 1, RunStatus.Succeeded, 0.80), Run("a", 0, 2, RunStatus.Succeeded, 0.90), Run("a", 0, 3, RunStatus.Succeeded, 0.85),
        ]);
        var cell = grid.Cells[0][0];
        cell.Mean.ShouldNotBeNull().ShouldBe(0.85, 1e-12);
        cell.Std.ShouldNotBeNull().ShouldBe(0.05, 1e-12, "sample std (n - 1) of 0.80, 0.90, 0.85");
        cell.N.ShouldBe(3);
        cell.Planned.ShouldBe(3);
        grid.Cells[0][1].Planned.ShouldBe(0, "a column with no runs of this model is an empty cell, not a missing one");
    }

    [Fact]
    public void FailedAndCancelledRuns_AreCounted_ButNotAveraged()
    {
        var grid = ExperimentGrid.Build(["a"], Columns,
        [
            Run("a", 0, 1, RunStatus.Succeeded, 0.9), Run("a", 0, 2, RunStatus.Failed), Run("a", 0, 3, RunStatus.Cancelled),
            Run("a", 0, 4, RunStatus.Running), Run("a", 0, 5, RunStatus.Queued),
        ]);
        var cell = grid.Cells[0][0];
        cell.Mean.ShouldBe(0.9);
        cell.Std.ShouldBeNull("one value has no spread");
        (cell.N, cell.Planned, cell.Failed, cell.Cancelled, cell.Running, cell.Queued).ShouldBe((1, 5, 1, 1, 1, 1));
        cell.Pending.ShouldBeTrue();
        grid.Finished.ShouldBe(3);
        grid.Planned.ShouldBe(5);
    }

    [Fact]
    public void TheBestCell_IsTheHighestMean_ATieGoesToMoreSeeds()
    {
        var grid = ExperimentGrid.Build(["a", "b"], Columns,
        [
            Run("a", 0, 1, RunStatus.Succeeded, 0.7),
            Run("a", 1, 1, RunStatus.Succeeded, 0.9),
            Run("b", 0, 1, RunStatus.Succeeded, 0.9), Run("b", 0, 2, RunStatus.Succeeded, 0.9),
            Run("b", 1, 1, RunStatus.Failed),
        ]);
        var best = grid.Best.ShouldNotBeNull();
        (best.ModelId, best.Column, best.N).ShouldBe(("b", 0, 2));
        grid.Cells.SelectMany(r => r).Count(c => c.Best).ShouldBe(1);
        grid.Cells[1][1].Mean.ShouldBeNull("its only run failed");
    }

    [Fact]
    public void WithNoResultsYet_NoCellIsBest()
    {
        var grid = ExperimentGrid.Build(["a"], Columns, [Run("a", 0, 1, RunStatus.Running), Run("a", 1, 1, RunStatus.Queued)]);
        grid.Best.ShouldBeNull();
        grid.Rows.ShouldBe(["a"]);
        grid.Cells[0].Select(c => c.Mean).ShouldBe([null, null]);
    }

    [Fact]
    public void MeanAndStd_OfNothing_IsNothing()
    {
        ExperimentGrid.MeanAndStd([]).ShouldBe((null, null));
        ExperimentGrid.MeanAndStd([0.5, 0.7]).Std.ShouldNotBeNull().ShouldBe(Math.Sqrt(0.02), 1e-12);
    }
}
