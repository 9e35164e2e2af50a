using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Runs;
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

    readonly RunLiveState _live = new();
    RunView? _run;
    bool _loaded, _cancelling;
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
        foreach (var e in await Runs.EventsAsync(Id)) _live.Apply(e);
    }

    Task OnEventAsync(RunEvent e) => InvokeAsync(async () =>
    {
        if (!_live.Apply(e)) return;
        if (e.Kind == RunEventKind.Status && e.Status!.Status.IsTerminal())
        {
            _run = await Runs.GetAsync(Id); // result and card are written with the final status
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

    IReadOnlyList<ChartSeries> LossSeries()
    {
        var steps = _live.StepLosses.Select(p => new Point(p.GlobalStep, p.Loss)).ToList();
        var perEpoch = _live.LastStep?.StepsPerEpoch ?? 0;
        var val = _live.Epochs.Select(e => new Point(e.Epoch * (double)perEpoch, e.ValLoss)).ToList();
        return
        [
            new("train loss (per step)", "#2f5d8a", steps),
            new("validation loss (per epoch)", "#d97706", val, Markers: true),
        ];
    }

    IReadOnlyList<ChartSeries> AccuracySeries() =>
    [
        new("train accuracy", "#2f5d8a", _live.Epochs.Select(e => new Point(e.Epoch, e.TrainAccuracy)).ToList(), Markers: true),
        new("validation accuracy", "#d97706", _live.Epochs.Select(e => new Point(e.Epoch, e.ValAccuracy)).ToList(), Markers: true),
    ];

    public void Dispose() => _subscription?.Dispose();
}
