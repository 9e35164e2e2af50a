using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using static ModelZoo.Web.Components.Shared.LineChart;

namespace ModelZoo.Web.Catalog;

public partial class ComparePage
{
    // Colour-blind-safe (Okabe-Ito), one per column; six is the most a comparison holds.
    static readonly string[] Palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"];

    [Inject] ICatalog Catalog { get; set; } = default!;
    [Inject] LatencyService Latency { get; set; } = default!;
    [Inject] IOptions<LatencyOptions> Options { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "ids")] public string? Ids { get; set; }

    CompareSelection _selection = new([], "");
    IReadOnlyList<CatalogEntry> _models = [];
    IReadOnlyDictionary<string, IReadOnlyList<LatencyMeasurement>> _latency = new Dictionary<string, IReadOnlyList<LatencyMeasurement>>();
    readonly List<string> _sources = [];
    IReadOnlyList<ChartSeries> _accuracyVsGflops = [], _accuracyVsLatency = [];
    IReadOnlyList<(string Id, string Why)> _notOnGflops = [], _notOnLatency = [];
    /// <summary>The data the charts' top-1 axis is measured on: the benchmark most of the compared models share.</summary>
    string? _benchmark;
    string Top1Axis => _benchmark is null ? "top-1 (%)" : $"top-1 on {_benchmark} (%)";
    int _batch, _maxBatch;
    bool _subscribed;

    /// <summary>Batch 1 first, then every other batch measured for any of these models.</summary>
    IEnumerable<int> Batches => _latency.Values.SelectMany(l => l).Select(m => m.Batch).Append(1).Distinct().Order();

    protected override async Task OnParametersSetAsync()
    {
        _batch = _batch == 0 ? Options.Value.BatchSize : _batch;
        _maxBatch = Options.Value.MaxBatch;
        _selection = CompareSelection.Parse(Ids, id => Catalog.Find(id) is not null);
        if (!_selection.Ok) { _models = []; return; }
        _models = _selection.Ids.Select(id => Catalog.Find(id)!).ToList();
        _sources.Clear();
        foreach (var m in _models.SelectMany(e => new[] { PublishedMetrics.Top1(e.Manifest), PublishedMetrics.Top5(e.Manifest) }))
            if (m is not null && !_sources.Contains(m.Source)) _sources.Add(m.Source);
        await LoadLatencyAsync();
        if (!_subscribed) { Latency.Changed += OnLatencyChanged; _subscribed = true; }
    }

    async Task LoadLatencyAsync()
    {
        _latency = await Latency.LatestAsync(_models.Select(e => e.Id));
        BuildCharts();
    }

    LatencyMeasurement? Measurement(string id, int batch) =>
        _latency.TryGetValue(id, out var list) ? list.FirstOrDefault(m => m.Batch == batch) : null;

    LatencyMeasurement? Newest(string id) =>
        _latency.TryGetValue(id, out var list) ? list.MaxBy(m => m.MeasuredAt) : null;

    /// <summary>One series per model, so each point has its column's colour and a legend entry; a model without a
    /// published top-1 (or without GFLOPs, or never measured) is named under the chart instead of being guessed.</summary>
    void BuildCharts()
    {
        var gflops = new List<ChartSeries>();
        var latency = new List<ChartSeries>();
        var notOnGflops = new List<(string, string)>();
        var notOnLatency = new List<(string, string)>();
        // One axis, one benchmark: a top-1 on glyphs plotted beside ImageNet top-1s would read as comparable.
        _benchmark = PublishedMetrics.MainBenchmark(_models.Select(e => e.Manifest));
        for (int i = 0; i < _models.Count; i++)
        {
            var e = _models[i];
            var color = Palette[i % Palette.Length];
            var metric = PublishedMetrics.Top1(e.Manifest);
            var top1 = metric?.Value;
            if (top1 is null)
            {
                notOnGflops.Add((e.Id, "no published top-1"));
                notOnLatency.Add((e.Id, "no published top-1"));
                continue;
            }
            if (PublishedMetrics.BenchmarkOf(metric!) is var other && other != _benchmark)
            {
                var why = $"its top-1 is on {other}, not {_benchmark}";
                notOnGflops.Add((e.Id, why));
                notOnLatency.Add((e.Id, why));
                continue;
            }
            if (e.Manifest.Gflops is { } g) gflops.Add(new(e.Id, color, [new Point(g, top1.Value, e.Id)], Line: false));
            else notOnGflops.Add((e.Id, "no GFLOPs"));
            if (Measurement(e.Id, 1) is { } m) latency.Add(new(e.Id, color, [new Point(m.MedianMs, top1.Value, e.Id)], Line: false));
            else notOnLatency.Add((e.Id, "latency not measured yet"));
        }
        (_accuracyVsGflops, _accuracyVsLatency, _notOnGflops, _notOnLatency) = (gflops, latency, notOnGflops, notOnLatency);
    }

    bool CanMeasure(CatalogEntry e) => Latency.Unsupported(e.Manifest) is null && Latency.JobOf(e.Id) is not { IsActive: true };

    void Measure(string id) => Latency.Request(id, _batch);

    void MeasureAll()
    {
        foreach (var e in _models.Where(CanMeasure)) Latency.Request(e.Id, _batch);
    }

    void OnLatencyChanged(LatencyJob job)
    {
        if (!_models.Any(e => e.Id == job.ModelId)) return;
        _ = InvokeAsync(async () =>
        {
            if (job.State == LatencyJobState.Succeeded) await LoadLatencyAsync();
            StateHasChanged();
        });
    }

    public void Dispose()
    {
        if (_subscribed) Latency.Changed -= OnLatencyChanged;
    }
}
