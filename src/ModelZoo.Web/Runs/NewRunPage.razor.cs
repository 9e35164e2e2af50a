using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Web.Runs;

/// <summary>
/// The new-run form. The strategy list, each strategy's options and its explanation come from the strategies'
/// descriptions (<see cref="IStrategyCatalog"/>); the checks are the service's, so the form and the API explain a bad
/// value in the same words under the same field.
/// </summary>
public partial class NewRunPage : ComponentBase, IDisposable
{
    [Inject] ICatalog Catalog { get; set; } = default!;
    [Inject] IDatasetCatalog Datasets { get; set; } = default!;
    [Inject] IDomainPairs Pairs { get; set; } = default!;
    [Inject] IStrategyCatalog StrategyCatalog { get; set; } = default!;
    [Inject] DatasetFetchService Fetch { get; set; } = default!;
    [Inject] RunService Runs { get; set; } = default!;
    [Inject] SweepService Sweeps { get; set; } = default!;
    [Inject] NavigationManager Nav { get; set; } = default!;
    [Inject] PretrainingCorpora Corpora { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "model")] public string? PresetModel { get; set; }
    /// <summary>Set by a dataset page's "Train on it"; kept when it fits the preset model (or there is none).</summary>
    [SupplyParameterFromQuery(Name = "dataset")] public string? PresetDataset { get; set; }
    /// <summary>Preselects a strategy by id (a run page's links use it).</summary>
    [SupplyParameterFromQuery(Name = "strategy")] public string? PresetStrategy { get; set; }

    readonly NewRunForm _form = new();
    IStrategyCatalog _strategies = default!;
    IReadOnlyList<CatalogEntry> _models = [];
    IReadOnlyList<DatasetInfo> _datasets = [];
    IReadOnlyList<DomainPairView> _pairs = [];
    IReadOnlyDictionary<string, string> _errors = new Dictionary<string, string>();
    FetchState _fetch = new("", FetchPhase.Idle, 0, null);
    bool _busy;

    CatalogEntry? SelectedModel => _models.FirstOrDefault(m => m.Id == _form.ModelId);
    DatasetInfo? SelectedDataset => _datasets.FirstOrDefault(d => d.Id == _form.DatasetId);
    StrategyDescription? SelectedStrategy => _strategies.Find(_form.Strategy);
    bool NeedsTarget => SelectedStrategy?.Info.NeedsTarget == true;
    bool Trains => SelectedStrategy?.Info.Trains != false;

    protected override void OnInitialized()
    {
        _strategies = StrategyCatalog;
        _models = Catalog.All();
        _pairs = Pairs.All();
        // Start with a model and a dataset that fit each other (text models read texts, the rest images); a text model
        // on images is refused at launch, and the first catalogue entry alone may be BERT while the default data is digits.
        var preset = _models.FirstOrDefault(m => m.Id == PresetModel);
        _datasets = Datasets.All(); // reads every dataset's facts from disk: once
        var presetData = _datasets.FirstOrDefault(d => d.Id == PresetDataset);
        if (presetData is not null && (preset is null || IsText(presetData) == IsText(preset)))
            _form.DatasetId = presetData.Id;
        else if (preset is not null)
            _form.DatasetId = _datasets.FirstOrDefault(d => IsText(d) == IsText(preset))?.Id ?? "";
        if (string.IsNullOrEmpty(_form.DatasetId)) _form.DatasetId = _datasets.FirstOrDefault()?.Id ?? "";
        var dataset = SelectedDataset;
        _form.ModelId = preset?.Id
            // Among those, one that has its weights (bundled or imported): a text entry still to fetch or import has no
            // vocabulary here and could not launch (arctic_embed_xs.st sorts before the bundled house BERT).
            ?? (dataset is null ? null : _models.Where(m => IsText(m) == IsText(dataset)).OrderBy(m => m.Weights.HasWeights() ? 0 : 1).FirstOrDefault()?.Id)
            ?? _models.FirstOrDefault()?.Id ?? "";
        _form.ImageSize = SelectedModel?.Manifest.Preprocessing.InputSize ?? 0;
        if (_strategies.Find(PresetStrategy) is { } ps) _form.Strategy = ps.Id;
        EnsureFittingStrategy();
        _form.ResetAugmentation(SelectedDataset);
        _fetch = Fetch.State;
        Fetch.Changed += OnFetchChanged;
    }

    static bool IsText(CatalogEntry m) => m.Manifest.Text is not null;
    static bool IsText(DatasetInfo d) => d.Modality == DatasetModality.Text;
    // Settings of the other modality are hidden (their defaults still go with the request, where they are unused).
    bool ShowImageFields => SelectedModel is not { } m || !IsText(m);
    bool ShowTextFields => SelectedModel is not { } m || IsText(m);

    /// <summary>The datasets the selected model can read: a text model reads texts, the others images.</summary>
    IReadOnlyList<DatasetInfo> FittingDatasets =>
        SelectedModel is { } m ? _datasets.Where(d => IsText(d) == IsText(m)).ToList() : _datasets;

    /// <summary>Strategies the model can run (its modality; BatchNorm where a strategy needs it).</summary>
    IReadOnlyList<StrategyDescription> FittingStrategies =>
        SelectedModel?.Facts is { } f ? Core.Strategies.StrategyCatalog.For(_strategies, f).ToList() : _strategies.All;

    /// <summary>Why the other strategies are not offered for this model, one reason each.</summary>
    IReadOnlyList<string> UnfitStrategies => SelectedModel?.Facts is { } f
        ? _strategies.All.Select(s => Core.Strategies.StrategyCatalog.Misfit(s, f)).OfType<string>().ToList() : [];

    /// <summary>Datasets a domain-adaptation run can target: the same kind of data, another dataset.</summary>
    IReadOnlyList<DatasetInfo> TargetCandidates => _datasets.Where(d => d.Id != _form.DatasetId && SelectedDataset is { } s && d.Modality == s.Modality).ToList();

    /// <summary>Largest over smallest class, when it is over 3 (the form then suggests balancing).</summary>
    double? Imbalance => SelectedDataset is { ClassCounts.Count: > 1 } d && d.ClassCounts.Min() > 0 && (double)d.ClassCounts.Max() / d.ClassCounts.Min() is var r && r > 3 ? r : null;

    /// <summary>The model's backbone depth when a sweep can be offered (the sweep's strategies are registered).</summary>
    int? SweepDepth => SelectedModel?.Facts is { } f && new[] { SweepService.FeatureExtraction, SweepService.Partial, SweepService.Full, SweepService.Scratch }.All(id => _strategies.Find(id) is not null)
        ? f.BackboneStages.Count : null;

    PretrainingOverlap? _overlap;
    (string Model, string Dataset)? _overlapFor;

    /// <summary>Only pretrained weights can have memorised text: the warning is for strategies that start from them.</summary>
    bool StartsFromPretrained => SelectedStrategy?.Info.UsesPretrainedWeights != false;

    /// <summary>When the model records its pretraining corpus and the dataset holds texts, counts the texts the corpus
    /// holds word for word, off the circuit's thread (a large dataset takes a second the first time; then it is cached).</summary>
    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        var key = (_form.ModelId, _form.DatasetId);
        if (_overlapFor == key) return;
        _overlapFor = key;
        _overlap = null;
        if (SelectedModel is not { Manifest.PretrainingCorpus: not null } model || SelectedDataset is not { Modality: DatasetModality.Text } data) return;
        PretrainingOverlap? overlap;
        try { overlap = await Task.Run(() => Corpora.Measure(model.Manifest, data.Id, () => Datasets.Load(data.Id))); }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException) { return; }
        if (_overlapFor != key) return;
        _overlap = overlap;
        StateHasChanged();
    }

    void EnsureFittingStrategy()
    {
        if (!FittingStrategies.Any(s => s.Id == _form.Strategy)) _form.Strategy = FittingStrategies.FirstOrDefault()?.Id ?? _form.Strategy;
        _form.ResetOptions(SelectedStrategy);
    }

    /// <summary>A new model keeps the chosen dataset when it can read it, takes its own input size, and keeps the
    /// strategy when it fits.</summary>
    void OnModelChanged(string id)
    {
        _form.ModelId = id;
        if (!FittingDatasets.Any(d => d.Id == _form.DatasetId)) OnDatasetChanged(FittingDatasets.FirstOrDefault()?.Id ?? "");
        _form.ImageSize = SelectedModel?.Manifest.Preprocessing.InputSize ?? _form.ImageSize;
        _form.TaskDatasetIds.RemoveAll(t => !FittingDatasets.Any(d => d.Id == t)); // every task must be of the model's kind
        var before = _form.Strategy;
        if (!FittingStrategies.Any(s => s.Id == before)) EnsureFittingStrategy();
        else _form.ResetOptions(SelectedStrategy);
    }

    void OnDatasetChanged(string id)
    {
        _form.DatasetId = id;
        _form.ResetAugmentation(SelectedDataset);
        if (_form.TargetDatasetId == id) _form.TargetDatasetId = null;
        _form.TaskDatasetIds.Remove(id); // the run's own dataset is task 1, never a further task
    }

    void OnStrategyChanged(string id)
    {
        _form.Strategy = id;
        _form.ResetOptions(SelectedStrategy);
    }

    void OnOverrideAugmentation(bool on)
    {
        _form.OverrideAugmentation = on;
        if (on) _form.ResetAugmentation(SelectedDataset);
    }

    void UsePair(DomainPair p)
    {
        OnDatasetChanged(p.SourceDatasetId);
        _form.TargetDatasetId = p.TargetDatasetId;
        if (SelectedModel is { } m && IsText(m)) OnModelChanged(_models.FirstOrDefault(x => !IsText(x))?.Id ?? m.Id);
    }

    void LoadDatasets()
    {
        _datasets = Datasets.All();
        _pairs = Pairs.All();
        if (string.IsNullOrEmpty(_form.DatasetId)) OnDatasetChanged(FittingDatasets.FirstOrDefault()?.Id ?? "");
    }

    void OnFetchChanged(FetchState s) => InvokeAsync(() =>
    {
        // Every built-in's fetch reports here; the banner is about the default one, the list takes any new dataset.
        if (s.DatasetId == BuiltInDatasets.DefaultId) _fetch = s;
        if (s.Phase == FetchPhase.Ready) LoadDatasets();
        StateHasChanged();
    });

    bool Has(string key) => _errors.ContainsKey(key);
    string Err(string key) => _errors.TryGetValue(key, out var e) ? e : "";

    [CascadingParameter] Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState>? AuthState { get; set; }

    /// <summary>The signed-in account, who will own what is launched (null with accounts off).</summary>
    async Task<string?> OwnerAsync() => AuthState is null ? null : ModelZoo.Web.Accounts.ZooPolicies.AccountId((await AuthState).User);

    Task LaunchAsync() => SubmitAsync(async request =>
    {
        var result = await Runs.LaunchAsync(request, await OwnerAsync(), default);
        return (result.Errors, result.Ok ? $"/runs/{result.RunId}" : null);
    });

    Task SweepAsync() => SubmitAsync(async request =>
    {
        var result = await Sweeps.LaunchAsync(request, await OwnerAsync(), default);
        return (result.Errors, result.Ok ? $"/sweeps/{result.SweepId}" : null);
    });

    /// <summary>Sends the form's request; shows the errors under their fields, or opens the page of what was queued.</summary>
    async Task SubmitAsync(Func<RunRequest, Task<(IReadOnlyDictionary<string, string> Errors, string? Page)>> submit)
    {
        _busy = true;
        try
        {
            var (errors, page) = await submit(_form.ToRequest(SelectedStrategy));
            _errors = errors;
            if (page is not null) Nav.NavigateTo(page);
        }
        finally { _busy = false; }
    }

    public void Dispose() => Fetch.Changed -= OnFetchChanged;
}
