using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.Components.Shared;
using static ModelZoo.Web.Components.Shared.LineChart;

namespace ModelZoo.Web.Runs;

public partial class RunPage : ComponentBase, IDisposable
{
    /// <summary>Render at most this often however fast steps arrive: the eye gains nothing above ~4 Hz.</summary>
    static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(250);

    [Parameter] public Guid Id { get; set; }
    [Inject] RunService Runs { get; set; } = default!;
    [Inject] RunNotifier Notifier { get; set; } = default!;
    [Inject] MarkdownRenderer Markdown { get; set; } = default!;
    [Inject] IStrategyCatalog Strategies { get; set; } = default!;

    readonly RunLiveState _live = new();
    RunView? _run;
    IReadOnlyList<RunView> _baselines = [];
    bool _loaded, _cancelling, _launchingBaseline;
    string? _baselineError;
    IDisposable? _subscription;
    DateTime _lastRender = DateTime.MinValue;
    int _renderPending;

    protected override async Task OnParametersSetAsync()
    {
        _subscription?.Dispose();
        // Subscribe before reading history, so nothing falls in between; the state drops duplicates by Seq.
        _subscription = Notifier.Subscribe(Id, OnEventAsync);
        _run = await Runs.GetAsync(Id);
        _loaded = true;
        if (_run is null) return;
        _baselines = await Runs.BaselinesOfAsync(Id);
        foreach (var e in await Runs.EventsAsync(Id)) _live.Apply(e);
    }

    StrategyDescription? Strategy => _run is null ? null : Strategies.Find(_run.Strategy);

    async Task LaunchBaselineAsync()
    {
        _launchingBaseline = true;
        try
        {
            var result = await Runs.LaunchBaselineAsync(Id);
            _baselineError = result.Ok ? null : string.Join(" ", result.Errors.Values);
            _baselines = await Runs.BaselinesOfAsync(Id);
        }
        finally { _launchingBaseline = false; }
    }

    Task OnEventAsync(RunEvent e) => InvokeAsync(async () =>
    {
        if (!_live.Apply(e)) return;
        if (e.Kind == RunEventKind.Status && e.Status!.Status.IsTerminal())
        {
            _run = await Runs.GetAsync(Id); // result and card are written with the final status
            _baselines = await Runs.BaselinesOfAsync(Id);
            StateHasChanged();
            return;
        }
        ThrottledRender();
    });

    void ThrottledRender()
    {
        var now = DateTime.UtcNow;
        if (now - _lastRender >= RenderInterval)
        {
            _lastRender = now;
            StateHasChanged();
            return;
        }
        if (Interlocked.Exchange(ref _renderPending, 1) == 1) return;
        _ = Task.Delay(RenderInterval).ContinueWith(_ => InvokeAsync(() =>
        {
            _renderPending = 0;
            _lastRender = DateTime.UtcNow;
            StateHasChanged();
        }));
    }

    async Task CancelAsync()
    {
        _cancelling = true;
        await Runs.CancelAsync(Id);
        _run = await Runs.GetAsync(Id);
    }

    static List<Point> Points(IReadOnlyList<(double X, double Y)> series, double xScale = 1) =>
        series.Select(p => new Point(p.X * xScale, p.Y)).ToList();

    IReadOnlyList<ChartSeries> LossSeries()
    {
        var perEpoch = _live.LastStep?.StepsPerEpoch ?? 0;
        return
        [
            new("train loss (per step)", "#2f5d8a", Points(_live.StepSeries(MetricNames.Loss))),
            new("validation loss (per epoch)", "#d97706", Points(_live.EpochSeries(MetricNames.ValLoss), perEpoch), Markers: true),
        ];
    }

    IReadOnlyList<ChartSeries> AccuracySeries() =>
    [
        new("train accuracy", "#2f5d8a", Points(_live.EpochSeries(MetricNames.TrainAccuracy)), Markers: true),
        new("validation accuracy", "#d97706", Points(_live.EpochSeries(MetricNames.ValAccuracy)), Markers: true),
    ];

    IReadOnlyList<ChartSeries> LearningRateSeries() => [new("learning rate", "#059669", Points(_live.StepSeries(MetricNames.LearningRate)))];

    /// <summary>The strategy's own values that this run has reported (its description labels them).</summary>
    IEnumerable<MetricInfo> OwnMetrics() => Strategy?.Info.Metrics.Where(m =>
        (m.PerStep ? _live.StepSeries(m.Name) : _live.EpochSeries(m.Name)).Count > 0) ?? [];

    IReadOnlyList<ChartSeries> OwnSeries(MetricInfo m) =>
        [new(m.Label, "#7c3aed", Points(m.PerStep ? _live.StepSeries(m.Name) : _live.EpochSeries(m.Name)), Markers: !m.PerStep)];

    public void Dispose() => _subscription?.Dispose();
}
