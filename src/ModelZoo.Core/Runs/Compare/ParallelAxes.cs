using System.Globalization;

namespace ModelZoo.Core.Runs.Compare;

/// <summary>One axis of a parallel-coordinates view: a value per run, and for axes that are not plain numbers (a
/// category, a log scale) the tick positions and their labels.</summary>
public sealed record ParallelAxis(string Label, IReadOnlyList<double> Values, IReadOnlyList<double>? TickValues = null, IReadOnlyList<string>? TickText = null);

/// <summary>
/// Hyper-parameters against results, one line per finished run: the settings that differ between the runs (a setting
/// every run shares draws a flat line and says nothing), then test accuracy, which also colours the lines. Learning
/// rates sit on a log axis; model, strategy and an unlimited label budget are categories.
/// </summary>
public static class ParallelAxes
{
    public static (IReadOnlyList<ParallelAxis> Axes, IReadOnlyList<RunView> Runs) Of(IEnumerable<RunView> runs)
    {
        var done = runs.Where(r => r.Result is { TestExamples: > 0 } || r.Result is { ConfusionMatrix.Count: > 0 }).ToList();
        if (done.Count < 2) return ([], done);
        var axes = new List<ParallelAxis>();
        void Add(ParallelAxis? axis) { if (axis is not null && axis.Values.Distinct().Count() > 1) axes.Add(axis); }

        Add(Category("model", done.Select(r => r.ModelId)));
        Add(Category("strategy", done.Select(r => r.Strategy)));
        Add(Log("learning rate", done.Select(r => r.Request?.HyperParameters.LearningRate ?? double.NaN)));
        Add(Numbers("epochs", done.Select(r => (double)(r.Request?.HyperParameters.Epochs ?? 0))));
        Add(Numbers("batch size", done.Select(r => (double)(r.Request?.HyperParameters.BatchSize ?? 0))));
        Add(Category("label budget", done.Select(r => r.Request?.HyperParameters.LabelsPerClass is { } k ? k.ToString("D6", CultureInfo.InvariantCulture) : "all"),
            text: v => v == "all" ? "all" : int.Parse(v, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture) + " per class"));
        Add(Numbers("seed", done.Select(r => (double)(r.Request?.HyperParameters.Seed ?? 0))));
        axes.Add(new ParallelAxis("test accuracy", done.Select(r => r.Result!.TestAccuracy).ToList()));
        return (axes, done);
    }

    static ParallelAxis Numbers(string label, IEnumerable<double> values) => new(label, values.ToList());

    /// <summary>Categories at 0..k-1 in sorted order (the sort key may differ from the label, so budgets sort by size).</summary>
    static ParallelAxis Category(string label, IEnumerable<string> values, Func<string, string>? text = null)
    {
        var list = values.ToList();
        var kinds = list.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new ParallelAxis(label, list.Select(v => (double)kinds.IndexOf(v)).ToList(),
            Enumerable.Range(0, kinds.Count).Select(i => (double)i).ToList(), kinds.Select(k => text?.Invoke(k) ?? k).ToList());
    }

    /// <summary>log10 of the values, ticked at the rates the runs used.</summary>
    static ParallelAxis Log(string label, IEnumerable<double> values)
    {
        var list = values.ToList();
        var logs = list.Select(v => v > 0 ? Math.Log10(v) : double.NaN).ToList();
        var used = list.Where(v => v > 0).Distinct().Order().ToList();
        return new ParallelAxis(label, logs, used.Select(Math.Log10).ToList(), used.Select(v => v.ToString("G3", CultureInfo.InvariantCulture)).ToList());
    }
}
