using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;
using ModelZoo.Infrastructure.Runs.Experiments;
using ModelZoo.Web.Components.Shared;

namespace ModelZoo.Web.Runs;

/// <summary>
/// An experiment's grid (issue 13): backbones × strategy arms (× label budgets), each cell the seeds' mean ± std
/// with n, the best cell marked, running and queued cells shown as such. Live: a status event of one of its runs
/// re-reads the experiment (a finished run brings its result), throttled, so a burst of cancellations is one read.
/// Step events are ignored: a cell changes only when a run finishes.
/// </summary>
public partial class ExperimentPage : ComponentBase, IDisposable
{
    static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(500);

    [Parameter] public Guid Id { get; set; }
    [Inject] ExperimentService Experiments { get; set; } = default!;
    [Inject] RunNotifier Notifier { get; set; } = default!;

    ExperimentView? _view;
    HashSet<Guid> _runIds = [];
    bool _loaded, _subscribed, _cancelling;
    int _reads;
    RenderThrottle? _throttle;

    [CascadingParameter] Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState>? AuthState { get; set; }
    System.Security.Claims.ClaimsPrincipal _user = new();

    protected override async Task OnInitializedAsync()
    {
        if (AuthState is not null) _user = (await AuthState).User;
    }

    protected override async Task OnParametersSetAsync()
    {
        // Subscribe before the first read, so no run can finish in between unseen (a late event just re-reads).
        if (!_subscribed) { Notifier.AnyRun += OnAnyRun; _subscribed = true; }
        await ReloadAsync();
        _loaded = true;
    }

    async Task ReloadAsync()
    {
        // Reads overlap (a throttled refresh, the cancel button's own re-read); one that started earlier can finish
        // later with older statuses, so only the latest read started may replace the view.
        var ticket = ++_reads;
        var view = await Experiments.GetAsync(Id);
        if (ticket != _reads) return;
        _view = view;
        _runIds = _view?.Runs.Select(r => r.Id).ToHashSet() ?? [];
    }

    void OnAnyRun(RunEvent e)
    {
        if (e.Kind != RunEventKind.Status) return;
        _ = InvokeAsync(() =>
        {
            if (!_runIds.Contains(e.RunId)) return;
            (_throttle ??= new RenderThrottle(RenderInterval, InvokeAsync, () => _ = RefreshAsync())).Request();
        });
    }

    async Task RefreshAsync()
    {
        await ReloadAsync();
        StateHasChanged();
    }

    async Task CancelAsync()
    {
        if (_view is null || !ModelZoo.Web.Accounts.Ownership.MayManage(_user, _view.OwnerId)) return;
        _cancelling = true;
        try { await Experiments.CancelAsync(Id); }
        finally { _cancelling = false; }
        await ReloadAsync();
    }

    int Active => _view?.Runs.Count(r => !r.Status.IsTerminal()) ?? 0;

    static string CompareLink(GridCell cell) => "/runs/compare?ids=" + string.Join(",", cell.Runs.Select(r => r.Id));

    static string CellClass(GridCell cell) => cell.Best ? "cell best" : cell.Pending ? "cell pending" : "cell";

    /// <summary>A cell with no result yet says why: training, waiting in the queue, or every seed lost.</summary>
    static string Waiting(GridCell cell) =>
        cell.Running > 0 ? "running" : cell.Queued > 0 ? "queued" : "no result";

    static string StateText(GridCell cell) =>
        string.Join(", ", new[] { (cell.Running, "running"), (cell.Queued, "queued") }.Where(p => p.Item1 > 0).Select(p => $"{p.Item1} {p.Item2}"));

    static string LostText(GridCell cell) =>
        string.Join(", ", new[] { (cell.Failed, "failed"), (cell.Cancelled, "cancelled") }.Where(p => p.Item1 > 0).Select(p => $"{p.Item1} {p.Item2}"));

    public void Dispose()
    {
        if (_subscribed) Notifier.AnyRun -= OnAnyRun;
    }
}
