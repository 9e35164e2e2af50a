namespace ModelZoo.Core.Runs.Experiments;

/// <summary>A planned run of an experiment as the grid needs it: its place (model, column, seed), its status and,
/// once it succeeded, its test accuracy.</summary>
public sealed record GridRun(Guid Id, string ModelId, int Column, int Seed, RunStatus Status, double? TestAccuracy);

/// <summary>
/// One model under one column (strategy arm × label budget): test accuracy's mean and sample standard deviation over
/// the seeds that succeeded (<see cref="N"/> of <see cref="Planned"/>). Failed and cancelled runs are counted, never
/// averaged: a crash is not a score of zero, and leaving it out silently would flatter the cell.
/// </summary>
public sealed record GridCell(string ModelId, int Column, IReadOnlyList<GridRun> Runs, double? Mean, double? Std, bool Best)
{
    public int Planned => Runs.Count;
    /// <summary>Seeds that succeeded with a test accuracy: the mean's sample size.</summary>
    public int N => Runs.Count(r => Counts(r));
    public int Failed => Runs.Count(r => r.Status == RunStatus.Failed);
    public int Cancelled => Runs.Count(r => r.Status == RunStatus.Cancelled);
    public int Running => Runs.Count(r => r.Status == RunStatus.Running);
    public int Queued => Runs.Count(r => r.Status == RunStatus.Queued);
    /// <summary>Runs still to finish: the cell may yet change.</summary>
    public bool Pending => Running + Queued > 0;

    internal static bool Counts(GridRun r) => r is { Status: RunStatus.Succeeded, TestAccuracy: { } a } && double.IsFinite(a);
}

/// <summary>
/// An experiment's results as a table: rows are backbones (in the request's order), columns strategy arms × label
/// budgets, each cell the seeds' mean ± sample std. The best cell is the highest mean among cells with at least one
/// result; a tie goes to the cell with more seeds behind it, then to the earlier cell. Built from plain data, so it
/// is the same for the page, the API and the tests.
/// </summary>
public sealed record ExperimentGrid(IReadOnlyList<string> Rows, IReadOnlyList<GridColumn> Columns, IReadOnlyList<IReadOnlyList<GridCell>> Cells)
{
    public GridCell? Best => Cells.SelectMany(r => r).FirstOrDefault(c => c.Best);
    public int Planned => Cells.Sum(r => r.Sum(c => c.Planned));
    public int Finished => Cells.Sum(r => r.Sum(c => c.Runs.Count(x => x.Status.IsTerminal())));

    public static ExperimentGrid Build(IReadOnlyList<string> rows, IReadOnlyList<GridColumn> columns, IEnumerable<GridRun> runs)
    {
        var byCell = runs.ToLookup(r => (r.ModelId, r.Column));
        var stats = rows.Select(m => columns.Select((_, c) =>
        {
            var cellRuns = byCell[(m, c)].OrderBy(r => r.Seed).ToList();
            var (mean, std) = MeanAndStd(cellRuns.Where(GridCell.Counts).Select(r => r.TestAccuracy!.Value).ToList());
            return new GridCell(m, c, cellRuns, mean, std, Best: false);
        }).ToList()).ToList();

        var best = stats.SelectMany(r => r).Where(c => c.Mean is not null)
            .OrderByDescending(c => c.Mean).ThenByDescending(c => c.N).FirstOrDefault();
        var cells = stats.Select(r => (IReadOnlyList<GridCell>)r.Select(c => ReferenceEquals(c, best) ? c with { Best = true } : c).ToList()).ToList();
        return new ExperimentGrid(rows, columns, cells);
    }

    /// <summary>Mean, and the sample (n - 1) standard deviation: seeds are a sample of the runs one could have made.
    /// One value has no spread (null), none has no mean.</summary>
    public static (double? Mean, double? Std) MeanAndStd(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return (null, null);
        var mean = values.Average();
        if (values.Count == 1) return (mean, null);
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return (mean, Math.Sqrt(variance));
    }
}
