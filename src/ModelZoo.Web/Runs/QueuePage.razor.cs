using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Queue;
using ModelZoo.Core.Strategies;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Queue;
using ModelZoo.Web.Components.Shared;

namespace ModelZoo.Web.Runs;

/// <summary>
/// The queue view (issue 13): running runs with device, elapsed time, progress and ETA; queued runs in the order the
/// worker takes them, with the wait ahead of each where it can be estimated; then recent finished runs with their
/// duration. Resumed runs are marked. The filters live in the URL, so a filtered view is a link to share; they are
/// the same as <c>GET /api/queue</c>'s, <c>?experiment=</c> included (<c>?sweep=</c>, from links made before sweeps
/// became experiments, reads the same).
/// Live: a step event updates its run's progress and ETA in memory (no database read); a status event re-reads the
/// queue. Both are throttled, so a run at 100 steps/s costs a few renders a second.
/// </summary>
public partial class QueuePage : ComponentBase, IDisposable
{
    static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(500);
    static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    [SupplyParameterFromQuery(Name = "status")] public string? Status { get; set; }
    [SupplyParameterFromQuery(Name = "model")] public string? Model { get; set; }
    [SupplyParameterFromQuery(Name = "dataset")] public string? Dataset { get; set; }
    [SupplyParameterFromQuery(Name = "strategy")] public string? Strategy { get; set; }
    [SupplyParameterFromQuery(Name = "experiment")] public string? Experiment { get; set; }
    [SupplyParameterFromQuery(Name = "sweep")] public string? Sweep { get; set; }
    [SupplyParameterFromQuery(Name = "resumed")] public bool? Resumed { get; set; }

    [Inject] QueueService Queue { get; set; } = default!;
    [Inject] RunService Runs { get; set; } = default!;
    [Inject] RunNotifier Notifier { get; set; } = default!;
    [Inject] IStrategyCatalog Strategies { get; set; } = default!;
    [Inject] NavigationManager Nav { get; set; } = default!;
    [Inject] TimeProvider Clock { get; set; } = default!;

    QueueFilter _filter = QueueFilter.All;
    string? _error;
    bool _loaded, _subscribed, _reloadPending;
    QueueSnapshot _snapshot = QueueSnapshot.Empty;
    QueueBoard _board = new([], [], []);
    readonly HashSet<Guid> _cancelling = [];
    RenderThrottle? _throttle;
    Timer? _tick;

    [CascadingParameter] Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState>? AuthState { get; set; }
    System.Security.Claims.ClaimsPrincipal _user = new();

    protected override async Task OnInitializedAsync()
    {
        if (AuthState is not null) _user = (await AuthState).User;
    }

    protected override async Task OnParametersSetAsync()
    {
        var parsed = QueueFilter.Parse(Status, Model, Dataset, Strategy, Experiment ?? Sweep, Resumed);
        _error = parsed.Error;
        _filter = parsed.Filter ?? QueueFilter.All;
        // Subscribe before the first read, so no status change falls in between (a late one just re-reads).
        if (!_subscribed) { Notifier.AnyRun += OnAnyRun; _subscribed = true; }
        // Elapsed time and ETA count on between steps (a run preparing its data reports none for a while).
        _tick ??= new Timer(_ => InvokeAsync(() => { if (_board.Running.Count > 0) { Rebuild(); StateHasChanged(); } }),
            null, TickInterval, TickInterval);
        await ReloadAsync();
        _loaded = true;
    }

    async Task ReloadAsync()
    {
        _snapshot = _error is null ? await Queue.LoadSnapshotAsync(_filter) : QueueSnapshot.Empty;
        Rebuild();
    }

    void Rebuild() => _board = _snapshot.Board(_filter, Clock.GetUtcNow());

    void OnAnyRun(RunEvent e)
    {
        if (e.Kind is not (RunEventKind.Status or RunEventKind.Step)) return;
        _ = InvokeAsync(() =>
        {
            if (e is { Kind: RunEventKind.Step, Step: { } step }) _snapshot = _snapshot.WithStep(e.RunId, new LatestStep(step, e.At));
            else _reloadPending = true;
            (_throttle ??= new RenderThrottle(RenderInterval, InvokeAsync, () => _ = RefreshAsync())).Request();
        });
    }

    async Task RefreshAsync()
    {
        if (_reloadPending) { _reloadPending = false; await ReloadAsync(); }
        else Rebuild();
        StateHasChanged();
    }

    async Task CancelAsync(Guid id)
    {
        if (await Runs.GetAsync(id) is not { } run || !ModelZoo.Web.Accounts.Ownership.MayManage(_user, run.OwnerId)) return;
        _cancelling.Add(id);
        try { await Runs.CancelAsync(id); }
        finally { _cancelling.Remove(id); }
        await ReloadAsync();
    }

    /// <summary>The link to this view with one filter changed; every filter control is such a link or navigates to one.</summary>
    string Link(QueueFilter f) => f.ToQuery() is { Length: > 0 } q ? $"/queue?{q}" : "/queue";

    string StatusLink(RunStatus s)
    {
        var set = new HashSet<RunStatus>(_filter.Statuses);
        if (!set.Remove(s)) set.Add(s);
        return Link(_filter with { Statuses = set });
    }

    void SetModel(string? v) => Nav.NavigateTo(Link(_filter with { ModelId = Blank(v) }));
    void SetDataset(string? v) => Nav.NavigateTo(Link(_filter with { DatasetId = Blank(v) }));
    void SetStrategy(string? v) => Nav.NavigateTo(Link(_filter with { Strategy = Blank(v) }));
    static string? Blank(string? v) => string.IsNullOrEmpty(v) ? null : v;

    IEnumerable<RunView> AllRuns => _snapshot.Active.Concat(_snapshot.Finished);

    /// <summary>Choices are the values the loaded runs have, plus the current one (a filter matching nothing stays visible).</summary>
    IReadOnlyList<string> Choices(Func<RunView, string> of, string? current) =>
        AllRuns.Select(of).Append(current ?? "").Where(v => v.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList();

    string StrategyTitle(string id) => Strategies.Find(id)?.Title ?? id;

    static string RunName(RunView r) => r.Name ?? r.Id.ToString()[..8];

    static string Wait(QueueEntry e) => e.WaitSeconds is { } w ? (w < 1 ? "next" : "≈ " + Format.Duration(w)) : "unknown";

    bool Empty => _board.Running.Count + _board.Queued.Count + _board.Finished.Count == 0;

    public void Dispose()
    {
        if (_subscribed) Notifier.AnyRun -= OnAnyRun;
        _tick?.Dispose();
    }
}
