using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Compare;
using ModelZoo.Core.Strategies;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Compare;
using ModelZoo.Web.Components.Shared;

namespace ModelZoo.Web.Runs;

/// <summary>
/// Several runs side by side, live: history from the store, then the same events the run page gets, applied to each
/// run's <see cref="RunCurves"/>. Renders are batched, so a run at 100 steps/s refreshes the browser at most
/// <see cref="RenderInterval"/>⁻¹ times a second; the charts then extend their traces by the new points only.
/// </summary>
public partial class RunsComparePage : ComponentBase, IDisposable
{
    static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(250);

    [SupplyParameterFromQuery(Name = "ids")] public string? Ids { get; set; }
    [Inject] RunCompareService Compare { get; set; } = default!;
    [Inject] RunService Runs { get; set; } = default!;
    [Inject] RunNotifier Notifier { get; set; } = default!;
    [Inject] IStrategyCatalog Strategies { get; set; } = default!;

    sealed class Compared(RunView run, RunCurves curves)
    {
        public RunView Run { get; set; } = run;
        public RunCurves Curves { get; } = curves;
    }

    readonly List<Compared> _runs = [];
    readonly List<IDisposable> _subscriptions = [];
    IReadOnlyList<Guid> _missing = [];
    string? _error;
    bool _loaded;
    RunComparison _table = new([], []);
    CurveAxis _axis = CurveAxis.Step;
    string _filter = "";
    RenderThrottle? _throttle;

    protected override async Task OnParametersSetAsync()
    {
        Unsubscribe();
        _runs.Clear();
        var ids = CompareIds.Parse(Ids);
        _error = ids.Error;
        _missing = [];
        if (ids.Ok)
        {
            // Subscribe before reading history, so nothing falls in between; RunCurves drops duplicates by Seq.
            foreach (var id in ids.Ids) _subscriptions.Add(Notifier.Subscribe(id, e => OnEventAsync(id, e)));
            var loaded = await Compare.LoadAsync(ids.Ids);
            _missing = loaded.Missing;
            _runs.AddRange(loaded.Runs.Select(r => new Compared(r.Run, r.Curves)));
        }
        Rebuild();
        _loaded = true;
    }

    void Rebuild() => _table = RunComparison.Build(_runs.Select(r => (r.Run, r.Curves)));

    Task OnEventAsync(Guid id, RunEvent e) => InvokeAsync(async () =>
    {
        if (_runs.Find(r => r.Run.Id == id) is not { } run || !run.Curves.Apply(e)) return;
        if (e.Kind == RunEventKind.Status && e.Status!.Status.IsTerminal())
        {
            // Result and parameter counts are stored with the final status.
            if (await Runs.GetAsync(id) is { } fresh) run.Run = fresh;
            Rebuild();
            StateHasChanged();
            return;
        }
        ThrottledRender();
    });

    void ThrottledRender() => (_throttle ??= new RenderThrottle(RenderInterval, InvokeAsync, () => { Rebuild(); StateHasChanged(); })).Request();

    string IdsQuery => string.Join(",", _runs.Select(r => r.Run.Id));
    string ExportUrl(string format) => $"/api/runs/compare?ids={IdsQuery}&format={format}";

    string AxisTitle => CurveAxisSwitch.Title(_axis);

    string NameOf(RunView r) => r.Name ?? $"{r.ModelId} · {StrategyTitle(r.Strategy)}";
    string StrategyTitle(string id) => Strategies.Find(id)?.Title ?? id;

    /// <summary>One series per run, in the same order on every chart, so a run keeps its colour.</summary>
    IReadOnlyList<PlotSeries> Curves(string metric, bool perStep) => _runs.Select(r => new PlotSeries(
        r.Run.Id.ToString("N"), NameOf(r.Run),
        (perStep ? r.Curves.StepSeries(metric) : r.Curves.EpochSeries(metric)).Select(p => (p.X(_axis), p.Value)).ToList(),
        Lines: true, Markers: !perStep)).ToList();

    IReadOnlyList<PlotSeries> Scatter(Func<ComparisonRow, double?> x) => _table.Rows.Select(row =>
    {
        var point = row.TestAccuracy is { } acc && x(row) is { } xv && xv > 0 ? new[] { (xv, acc) } : [];
        return new PlotSeries(row.Id.ToString("N"), row.Name, point, Lines: false, Markers: true, Labels: point.Length > 0 ? [row.Name] : null);
    }).ToList();

    IEnumerable<ComparisonRow> FilteredRows => string.IsNullOrWhiteSpace(_filter) ? _table.Rows : _table.Rows.Where(r =>
        $"{r.Name} {r.ModelId} {r.DatasetId} {r.Strategy} {StrategyTitle(r.Strategy)} {r.Status}".Contains(_filter.Trim(), StringComparison.OrdinalIgnoreCase));

    static string MetricLabel(string name) => MetricNames.Labels.TryGetValue(name, out var l) ? l : name;

    static bool IsRatio(string name) => name.Contains("acc", StringComparison.OrdinalIgnoreCase);

    static string Value(string metric, double? v) => v is { } d && double.IsFinite(d) ? IsRatio(metric) ? Format.Pct(d) : Format.Num(d) : "–";

    /// <summary>The settings that differ between the finished runs, and their test accuracy.</summary>
    (IReadOnlyList<ParallelAxis> Axes, IReadOnlyList<RunView> Runs) Parallel => ParallelAxes.Of(_runs.Select(r => r.Run));

    /// <summary>Runs with a test result to show as a confusion matrix, in the page's order.</summary>
    List<Compared> Finished => _runs.Where(r => r.Run.Result is { ConfusionMatrix.Count: > 0 }).ToList();

    Guid? _diffA, _diffB;

    // The first two finished runs until the user picks others (a pick of a run that left the page falls back too).
    Guid DiffA => Finished.Any(r => r.Run.Id == _diffA) ? _diffA!.Value : Finished[0].Run.Id;
    Guid DiffB => Finished.Any(r => r.Run.Id == _diffB) ? _diffB!.Value : Finished[1].Run.Id;

    (ClassDifference? Difference, string? Problem) Difference => DiffA == DiffB
        ? (null, "Pick two different runs.")
        : ClassDifference.Of(Finished.First(r => r.Run.Id == DiffA).Run.Result!, Finished.First(r => r.Run.Id == DiffB).Run.Result!);

    static string Signed(double d, bool points = true) => points
        ? (d * 100).ToString("+0.0;-0.0;0.0", System.Globalization.CultureInfo.InvariantCulture)
        : d.ToString("+0.000;-0.000;0.000", System.Globalization.CultureInfo.InvariantCulture);

    void Unsubscribe()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _subscriptions.Clear();
    }

    public void Dispose() => Unsubscribe();
}
