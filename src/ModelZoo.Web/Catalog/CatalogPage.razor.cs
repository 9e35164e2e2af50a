using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;

namespace ModelZoo.Web.Catalog;

public partial class CatalogPage
{
    [Inject] ICatalog Catalog { get; set; } = default!;
    [Inject] LatencyService Latency { get; set; } = default!;
    [Inject] NavigationManager Nav { get; set; } = default!;

    IReadOnlyList<CatalogEntry> _entries = [];
    IReadOnlyList<CatalogEntry> _rows = [];
    /// <summary>Rows on a page: the zoo's own entries fit on one, a team's hundreds do not.</summary>
    internal const int PageSize = 25;
    MudBlazor.MudTable<CatalogEntry>? _table;
    /// <summary>The benchmark most entries' top-1 is on (ImageNet-1k val); a figure on other data says which.</summary>
    string? _mainBenchmark;

    string? OtherBenchmark(CatalogEntry e) =>
        PublishedMetrics.Top1(e.Manifest) is { } m && PublishedMetrics.BenchmarkOf(m) is var b && b != _mainBenchmark ? b : null;
    IReadOnlyDictionary<string, IReadOnlyList<LatencyMeasurement>> _latency = new Dictionary<string, IReadOnlyList<LatencyMeasurement>>();
    IReadOnlyList<string> _tasks = [], _families = [], _licences = [];
    CatalogFilter _filter = new();
    CatalogSort _sort = new();
    string _search = "";
    // In the order ticked, which becomes the column order of the compare page.
    readonly List<string> _selected = [];

    bool CanCompare => _selected.Count is >= CompareSelection.Min and <= CompareSelection.Max;

    string CompareHint => _selected.Count switch
    {
        0 => "Tick 2–6 models",
        1 => "Tick at least one more",
        CompareSelection.Max => "At most 6 at a time",
        _ => "",
    };

    protected override async Task OnInitializedAsync()
    {
        _entries = Catalog.All();
        _mainBenchmark = PublishedMetrics.MainBenchmark(_entries.Select(e => e.Manifest));
        _tasks = _entries.Select(e => e.Manifest.Task).Distinct().Order().ToList();
        _families = _entries.Select(e => e.Manifest.Family).Distinct().Order().ToList();
        _licences = _entries.Select(e => CatalogQuery.LicenceOf(e.Manifest)).Distinct().Order().ToList();
        _latency = await Latency.LatestAsync();
        Latency.Changed += OnLatencyChanged;
        Refresh();
    }

    LatencyMeasurement? LatestBatch1(string id) =>
        _latency.TryGetValue(id, out var list) ? list.FirstOrDefault(m => m.Batch == 1) : null;

    void Refresh() => _rows = CatalogQuery.Apply(_entries, _filter, _sort, id => LatestBatch1(id)?.MedianMs);

    void OnSearch(string? value)
    {
        _search = value ?? "";
        SetFilter(_filter with { Search = _search });
    }

    void SetFilter(CatalogFilter filter)
    {
        _filter = filter;
        Refresh();
        // A narrower filter can leave fewer pages than the one being shown.
        _table?.NavigateTo(0);
    }

    void SortBy(CatalogSortColumn column)
    {
        _sort = _sort.Toggle(column);
        Refresh();
    }

    void Select(string id, bool on)
    {
        if (!on) _selected.Remove(id);
        else if (!_selected.Contains(id) && _selected.Count < CompareSelection.Max) _selected.Add(id);
    }

    void Compare()
    {
        if (CanCompare) Nav.NavigateTo(CompareSelection.Link(_selected));
    }

    void OnLatencyChanged(LatencyJob job) => _ = InvokeAsync(async () =>
    {
        // Progress ticks only redraw; a finished job brings new numbers, and possibly a new order.
        if (job.State == LatencyJobState.Succeeded)
        {
            _latency = await Latency.LatestAsync();
            Refresh();
        }
        StateHasChanged();
    });

    public void Dispose() => Latency.Changed -= OnLatencyChanged;
}
