using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.DomainGap;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.DomainGap;
using ModelZoo.Web.Accounts;
using ModelZoo.Web.Components.Shared;
using ModelZoo.Web.Runs;

namespace ModelZoo.Web.DomainGap;

/// <summary>
/// The domain-gap report (issue 15): pick a model, a source and a target; "Measure gap" runs the existing measurement
/// (<see cref="DomainGapService"/>), "Run trio" queues source only, DANN and the oracle over the seeds
/// (<see cref="DomainGapTrioService"/>) and opens the trio's page, which lists its runs with their status live (a
/// status event of one of its runs re-reads the trio, throttled) and, as they finish, each arm's mean with its 95 %
/// interval and the share of the gap DANN recovers.
/// </summary>
public partial class DomainGapPage : ComponentBase, IDisposable
{
    static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(500);

    [Parameter] public Guid? Id { get; set; }
    [SupplyParameterFromQuery(Name = "model")] public string? PresetModel { get; set; }
    [SupplyParameterFromQuery(Name = "source")] public string? PresetSource { get; set; }
    [SupplyParameterFromQuery(Name = "target")] public string? PresetTarget { get; set; }

    [Inject] ICatalog Catalog { get; set; } = default!;
    [Inject] IDatasetCatalog Datasets { get; set; } = default!;
    [Inject] DomainGapService Gaps { get; set; } = default!;
    [Inject] DomainGapTrioService Trios { get; set; } = default!;
    [Inject] RunNotifier Notifier { get; set; } = default!;
    [Inject] NavigationManager Nav { get; set; } = default!;
    [Inject] IAuthorizationService Authorization { get; set; } = default!;
    [CascadingParameter] Task<AuthenticationState>? AuthState { get; set; }

    IReadOnlyList<CatalogEntry> _models = [];
    IReadOnlyList<DatasetInfo> _datasets = [];
    IReadOnlyList<TrioSummary> _trios = [];
    string? _modelId, _sourceId, _targetId;
    string _seeds = "1, 2, 3";
    int _epochs = new HyperParameters().Epochs, _imageSize, _gapExamples = new DomainGapRequest().Examples;
    IReadOnlyDictionary<string, string> _errors = new Dictionary<string, string>();
    string? _message;
    DomainGapReport? _measured;
    bool _busy, _mayLaunch, _loaded, _subscribed;

    TrioView? _trio;
    HashSet<Guid> _runIds = [];
    readonly Dictionary<Guid, StepProgress> _steps = [];
    bool _stale;
    int _reads;
    RenderThrottle? _throttle;
    System.Security.Claims.ClaimsPrincipal _user = new();

    protected override async Task OnInitializedAsync()
    {
        if (AuthState is not null)
        {
            _user = (await AuthState).User;
            _mayLaunch = (await Authorization.AuthorizeAsync(_user, ZooPolicies.Analyst)).Succeeded;
        }
        _models = Catalog.All();
        _datasets = Datasets.All();
        _modelId = _models.FirstOrDefault(m => m.Id == PresetModel)?.Id ?? _models.FirstOrDefault(m => m.Facts?.Modality == DatasetModality.Image)?.Id;
        _sourceId = _datasets.FirstOrDefault(d => d.Id == PresetSource)?.Id;
        _targetId = _datasets.FirstOrDefault(d => d.Id == PresetTarget)?.Id;
    }

    protected override async Task OnParametersSetAsync()
    {
        // Subscribe before the first read, so no run can finish in between unseen (a late event just re-reads).
        if (!_subscribed) { Notifier.AnyRun += OnAnyRun; _subscribed = true; }
        if (Id is null) _trios = await Trios.ListAsync();
        else await ReloadAsync();
        _loaded = true;
    }

    async Task ReloadAsync()
    {
        if (Id is not { } id) return;
        // Only the latest read started may replace the view: an earlier one can finish later with older statuses.
        var ticket = ++_reads;
        var view = await Trios.GetAsync(id);
        if (ticket != _reads) return;
        _trio = view;
        _runIds = view?.Runs.Select(r => r.Id).ToHashSet() ?? [];
    }

    /// <summary>A status event re-reads the trio (a finished run brings its result); a step event only updates that
    /// run's progress, with no database read. Both render through one throttle.</summary>
    void OnAnyRun(RunEvent e)
    {
        if (e.Kind is not (RunEventKind.Status or RunEventKind.Step)) return;
        _ = InvokeAsync(() =>
        {
            if (!_runIds.Contains(e.RunId)) return;
            if (e is { Kind: RunEventKind.Step, Step: { } step }) _steps[e.RunId] = step;
            else _stale = true;
            (_throttle ??= new RenderThrottle(RenderInterval, InvokeAsync, () => _ = RefreshAsync())).Request();
        });
    }

    async Task RefreshAsync()
    {
        if (_stale) { _stale = false; await ReloadAsync(); }
        StateHasChanged();
    }

    /// <summary>"epoch 2 · step 120 of 300 (40 %)" for a running run that has reported a step, else null.</summary>
    string? Progress(RunView run) =>
        run.Status == RunStatus.Running && _steps.TryGetValue(run.Id, out var s) && s.TotalSteps > 0
            ? $"epoch {s.Epoch} · step {s.GlobalStep} of {s.TotalSteps} ({100.0 * s.GlobalStep / s.TotalSteps:0} %)"
            : null;

    bool Has(string field) => _errors.ContainsKey(field);
    string? Err(string field) => _errors.TryGetValue(field, out var e) ? e : null;

    /// <summary>The form as a request; a seed list that does not parse is the form's own error.</summary>
    DomainGapTrioRequest? Request()
    {
        var seeds = new List<int>();
        foreach (var part in _seeds.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) || s < 0)
            {
                _errors = new Dictionary<string, string> { ["Seeds"] = $"'{part}' is not a seed: give whole numbers, 0 or more, separated by commas." };
                return null;
            }
            seeds.Add(s);
        }
        return new DomainGapTrioRequest
        {
            ModelId = _modelId ?? "", SourceDatasetId = _sourceId ?? "", TargetDatasetId = _targetId ?? "", Seeds = seeds,
            HyperParameters = new HyperParameters { Epochs = _epochs, ImageSize = _imageSize }, GapExamples = _gapExamples,
        };
    }

    async Task MeasureAsync()
    {
        if (!_mayLaunch || Request() is not { } trio) return;
        var request = new DomainGapRequest
        {
            ModelId = trio.ModelId, SourceDatasetId = trio.SourceDatasetId, TargetDatasetId = trio.TargetDatasetId,
            Examples = trio.GapExamples, ImageSize = trio.HyperParameters.ImageSize, Seed = trio.Seeds.FirstOrDefault(1),
        };
        // Under the form's fields, which are the trio's (the gap's examples and input size are the trio's settings).
        _errors = Gaps.Check(request).ToDictionary(e => DomainGapTrioService.TrioField(e.Key), e => e.Value);
        _message = null;
        _measured = null;
        if (_errors.Count > 0) return;
        _busy = true;
        try { _measured = await Gaps.MeasureAsync(request, CancellationToken.None); }
        catch (InvalidOperationException e) { _message = e.Message; }
        finally { _busy = false; }
    }

    async Task LaunchAsync()
    {
        if (!_mayLaunch || Request() is not { } request) return;
        _message = null;
        _busy = true;
        try
        {
            // A gap measured just now for the same model and datasets goes with the trio instead of a second measurement.
            var launch = await Trios.LaunchAsync(request, _user.AccountId(), CancellationToken.None, _measured);
            _errors = launch.Errors;
            if (launch.Ok) Nav.NavigateTo($"/domain-gap/{launch.TrioId}");
            else _message = "Nothing was queued: " + string.Join(" ", launch.Errors.Values);
        }
        catch (InvalidOperationException e) { _message = "Nothing was queued: " + e.Message; }
        finally { _busy = false; }
    }

    async Task CancelAsync()
    {
        if (_trio is null || !Ownership.MayManage(_user, _trio.OwnerId)) return;
        _busy = true;
        try { await Trios.CancelAsync(_trio.Id); }
        finally { _busy = false; }
        await ReloadAsync();
    }

    public void Dispose()
    {
        if (_subscribed) Notifier.AnyRun -= OnAnyRun;
    }
}
