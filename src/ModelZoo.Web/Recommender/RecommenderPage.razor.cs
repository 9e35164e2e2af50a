using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Recommender;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Recommender;
using ModelZoo.Web.Accounts;
using ModelZoo.Web.Components.Shared;
using MudBlazor;

namespace ModelZoo.Web.Recommender;

public partial class RecommenderPage : ComponentBase
{
    [Inject] BackboneRecommender Recommender { get; set; } = default!;
    [Inject] DatasetStore Datasets { get; set; } = default!;
    [Inject] IAuthorizationService Authorization { get; set; } = default!;
    [Inject] ModelZoo.Infrastructure.Catalog.LatencyService Latency { get; set; } = default!;
    [CascadingParameter] Task<AuthenticationState>? AuthState { get; set; }
    /// <summary>A recommendation to open (the API's Location points here too).</summary>
    [SupplyParameterFromQuery(Name = "id")] public Guid? Id { get; set; }
    [SupplyParameterFromQuery(Name = "dataset")] public string? PresetDataset { get; set; }

    IReadOnlyList<DatasetInfo> _datasets = [];
    IReadOnlyList<Recommendation> _history = [];
    Recommendation? _shown;
    string? _datasetIdValue;
    double? _budget;
    int _perClass = 20;
    int _imageSize;
    bool _mayStart;
    IReadOnlyDictionary<string, string> _errors = new Dictionary<string, string>();
    RenderThrottle? _throttle;

    string? _datasetId
    {
        get => _datasetIdValue;
        set
        {
            _datasetIdValue = value;
            _errors = new Dictionary<string, string>();
            // Once per choice, not per render: the candidates walk the whole catalogue.
            _candidates = _datasets.FirstOrDefault(d => d.Id == value) is { } d ? Recommender.Candidates(d.Modality).Select(c => c.Id).ToList() : [];
        }
    }

    IReadOnlyList<string> _candidates = [];

    protected override async Task OnInitializedAsync()
    {
        // Probing runs every backbone on the training device: an analyst's action, as the API's rule says.
        if (AuthState is not null) _mayStart = (await Authorization.AuthorizeAsync((await AuthState).User, ZooPolicies.Analyst)).Succeeded;
        _datasets = Datasets.All().OrderBy(d => d.Title, StringComparer.OrdinalIgnoreCase).ToList();
        _datasetId = PresetDataset is { } p && _datasets.Any(d => d.Id == p) ? p : _datasets.FirstOrDefault()?.Id;
        _history = Recommender.List();
        _shown = Id is { } id ? Recommender.Find(id) : _history.FirstOrDefault();
        _throttle = new RenderThrottle(TimeSpan.FromMilliseconds(500), InvokeAsync, StateHasChanged);
        Recommender.Changed += OnChanged;
    }

    void OnChanged(Recommendation r)
    {
        if (_shown?.Id != r.Id && !(r.IsActive && _shown is null)) return;
        _shown = r;
        if (!r.IsActive) _history = Recommender.List();
        _ = InvokeAsync(() => _throttle!.Request());
    }

    void Start()
    {
        if (!_mayStart || _datasetId is null) return;
        var request = new RecommendRequest { DatasetId = _datasetId, LatencyBudgetMs = _budget, ExamplesPerClass = _perClass, ImageSize = _imageSize };
        _errors = Recommender.Check(request);
        if (_errors.Count > 0) return;
        _shown = Recommender.Start(request);
        _history = Recommender.List();
    }

    void Show(Guid id) => _shown = Recommender.Find(id);

    string? _latencyNote;

    /// <summary>Queues a latency measurement (batch 1) of every backbone the report could not time.</summary>
    void MeasureLatencies(Recommendation r)
    {
        if (!_mayStart) return;
        var queued = r.Scores.Where(s => s.LatencyMs is null)
            .Select(s => (s.ModelId, Outcome: Latency.Request(s.ModelId, 1).Outcome)).ToList();
        _latencyNote = $"Queued: {string.Join(", ", queued.Where(q => q.Outcome is ModelZoo.Infrastructure.Catalog.LatencyRequestOutcome.Queued or ModelZoo.Infrastructure.Catalog.LatencyRequestOutcome.AlreadyQueued).Select(q => q.ModelId))}. " +
                       "Measurements wait for training runs to finish; run the recommendation again once they are done.";
    }

    bool Has(string key) => _errors.ContainsKey(key);
    string Err(string key) => _errors.TryGetValue(key, out var e) ? e : "";

    static Color StateColor(RecommendationState s) => s switch
    {
        RecommendationState.Succeeded => Color.Success,
        RecommendationState.Failed => Color.Error,
        RecommendationState.Running => Color.Info,
        _ => Color.Default,
    };

    /// <summary>The new-run form, filled in for a full run of the backbone on the dataset.</summary>
    static string LaunchLink(Recommendation r, BackboneScore s) =>
        $"/runs/new?model={Uri.EscapeDataString(s.ModelId)}&dataset={Uri.EscapeDataString(r.Request.DatasetId)}";

    static IReadOnlyList<BackboneScore> Points(Recommendation r) => r.Scores.Where(s => s.Probe is not null && s.LatencyMs is not null).ToList();

    static IReadOnlyList<PlotSeries> Series(Recommendation r)
    {
        var points = Points(r);
        var front = points.Where(s => s.OnParetoFront).OrderBy(s => s.LatencyMs).ToList();
        var series = new List<PlotSeries>
        {
            new("backbones", "Backbones", points.Select(s => (s.LatencyMs!.Value, s.Probe!.Accuracy)).ToList(), Lines: false, Markers: true,
                Labels: points.Select(s => s.ModelId).ToList()),
            new("front", "Pareto front", front.Select(s => (s.LatencyMs!.Value, s.Probe!.Accuracy)).ToList(), Lines: true, Markers: false,
                Labels: front.Select(s => s.ModelId).ToList()),
        };
        if (r.Request.LatencyBudgetMs is { } b)
        {
            var lo = points.Min(s => s.Probe!.Accuracy);
            var hi = points.Max(s => s.Probe!.Accuracy);
            series.Add(new("budget", "Budget", [(b, lo), (b, hi)], Lines: true, Markers: false));
        }
        return series;
    }

    public void Dispose() => Recommender.Changed -= OnChanged;
}
