using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.Components.Shared;
using ModelZoo.Core.Runs.Compare;

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
    [Inject] ModelZoo.Infrastructure.Runs.Compare.RunCompareService Compare { get; set; } = default!;

    readonly RunLiveState _live = new();
    // The charts' series: the same events with step, epoch and wall time per point, for the axis switch.
    readonly RunCurves _curves = new();
    CurveAxis _axis = CurveAxis.Step;
    RunView? _run;
    IReadOnlyList<RunView> _baselines = [];
    // Per task dataset: a single-task run of the same model, budget and seed (runs with several tasks only).
    IReadOnlyDictionary<string, SingleTaskPeer> _taskPeers = new Dictionary<string, SingleTaskPeer>();
    bool _loaded, _cancelling, _launchingBaseline, _mayManage;
    System.Security.Claims.ClaimsPrincipal _user = new();
    [CascadingParameter] Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState>? AuthState { get; set; }
    string? _baselineError;
    IDisposable? _subscription;
    RenderThrottle? _throttle;

    protected override async Task OnParametersSetAsync()
    {
        _subscription?.Dispose();
        // Subscribe before reading history, so nothing falls in between; the state drops duplicates by Seq.
        _subscription = Notifier.Subscribe(Id, OnEventAsync);
        _run = await Runs.GetAsync(Id);
        _loaded = true;
        if (_run is null) return;
        if (AuthState is not null) _user = (await AuthState).User;
        _mayManage = ModelZoo.Web.Accounts.Ownership.MayManage(_user, _run.OwnerId);
        _baselines = await Runs.BaselinesOfAsync(Id);
        _taskPeers = await Compare.TaskPeersAsync(_run);
        foreach (var e in await Runs.EventsAsync(Id)) { _live.Apply(e); _curves.Apply(e); }
    }

    // "Where it goes wrong": the confusion-matrix cell its gallery shows (true, predicted), set by clicking the matrix.
    (int True, int Predicted)? _cell;
    /// <summary>Changed after a compression, so the card (whose Compression section it adds to) is built again.</summary>
    int _cardKey;
    bool ShowsMistakes => _run is { Status: RunStatus.Succeeded, Result.TrainedWeights: not null };
    EventCallback<(int True, int Predicted)> CellClick => ShowsMistakes
        ? EventCallback.Factory.Create<(int True, int Predicted)>(this, c => _cell = c) : default;

    StrategyDescription? Strategy => _run is null ? null : Strategies.Find(_run.Strategy);

    async Task LaunchBaselineAsync()
    {
        _launchingBaseline = true;
        try
        {
            var result = await Runs.LaunchBaselineAsync(Id, ModelZoo.Web.Accounts.ZooPolicies.AccountId(_user), default);
            _baselineError = result.Ok ? null : string.Join(" ", result.Errors.Values);
            _baselines = await Runs.BaselinesOfAsync(Id);
        }
        finally { _launchingBaseline = false; }
    }

    Task OnEventAsync(RunEvent e) => InvokeAsync(async () =>
    {
        if (!_live.Apply(e)) return;
        _curves.Apply(e);
        if (e.Kind == RunEventKind.Status && e.Status!.Status.IsTerminal())
        {
            _run = await Runs.GetAsync(Id); // result and card are written with the final status
            _baselines = await Runs.BaselinesOfAsync(Id);
            if (_run is not null) _taskPeers = await Compare.TaskPeersAsync(_run);
            StateHasChanged();
            return;
        }
        ThrottledRender();
    });

    void ThrottledRender() => (_throttle ??= new RenderThrottle(RenderInterval, InvokeAsync, StateHasChanged)).Request();

    async Task CancelAsync()
    {
        // The button shows only to those who may, but a circuit can outlive a role change: ask again.
        if (_run is null || !ModelZoo.Web.Accounts.Ownership.MayManage(_user, _run.OwnerId)) return;
        _cancelling = true;
        await Runs.CancelAsync(Id);
        _run = await Runs.GetAsync(Id);
    }

    bool EpochAxis => _axis == CurveAxis.Epoch;
    string AxisTitle => CurveAxisSwitch.Title(_axis);

    PlotSeries Series(string key, string name, IReadOnlyList<CurvePoint> points, bool perEpoch) =>
        new(key, name, points.Select(p => (p.X(_axis), p.Value)).ToList(), Lines: true, Markers: perEpoch);

    IReadOnlyList<PlotSeries> LossSeries() =>
    [
        Series("loss", "train loss (per step)", _curves.StepSeries(MetricNames.Loss), perEpoch: false),
        Series("val_loss", "validation loss (per epoch)", _curves.EpochSeries(MetricNames.ValLoss), perEpoch: true),
    ];

    IReadOnlyList<PlotSeries> AccuracySeries() =>
    [
        Series("train_acc", "train accuracy", _curves.EpochSeries(MetricNames.TrainAccuracy), perEpoch: true),
        Series("val_acc", "validation accuracy", _curves.EpochSeries(MetricNames.ValAccuracy), perEpoch: true),
    ];

    IReadOnlyList<PlotSeries> LearningRateSeries() => [Series("lr", "learning rate", _curves.StepSeries(MetricNames.LearningRate), perEpoch: false)];

    IReadOnlyList<CurvePoint> Own(MetricInfo m) => m.PerStep ? _curves.StepSeries(m.Name) : _curves.EpochSeries(m.Name);

    /// <summary>The strategy's own values that this run has reported (its description labels them).</summary>
    IEnumerable<MetricInfo> OwnMetrics() => Strategy?.Info.Metrics.Where(m => Own(m).Count > 0) ?? [];

    IReadOnlyList<PlotSeries> OwnSeries(MetricInfo m) => [Series(m.Name, m.Label, Own(m), perEpoch: !m.PerStep)];

    /// <summary>The stored accuracy matrix of a finished continual run, else the one its epochs' <c>acc_t*</c> values
    /// fill in so far; null when the run reports none.</summary>
    AccuracyMatrix? Matrix() => _run is null ? null
        : _run.Result?.TaskMatrix ?? TaskComparison.FromCurves(_curves, TaskComparison.TaskDatasets(_run));

    public void Dispose() => _subscription?.Dispose();
}
