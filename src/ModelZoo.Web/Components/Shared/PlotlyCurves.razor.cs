using Microsoft.AspNetCore.Components;
using Plotly.Blazor;
using Plotly.Blazor.LayoutLib;
using Plotly.Blazor.Traces;
using Plotly.Blazor.Traces.ScatterLib;
using PlotLayout = Plotly.Blazor.Layout;

namespace ModelZoo.Web.Components.Shared;

/// <summary>One series of <see cref="PlotlyCurves"/>: <paramref name="Key"/> identifies it across updates (a run id).</summary>
/// <param name="Labels">Hover text per point (scatter views name the run).</param>
public sealed record PlotSeries(string Key, string Name, IReadOnlyList<(double X, double Y)> Points, bool Lines = true, bool Markers = false,
    IReadOnlyList<string>? Labels = null);

public partial class PlotlyCurves : ComponentBase, IAsyncDisposable
{
    [Parameter, EditorRequired] public IReadOnlyList<PlotSeries> Series { get; set; } = [];
    [Parameter] public string? Title { get; set; }
    [Parameter] public string XTitle { get; set; } = "";
    [Parameter] public string YTitle { get; set; } = "";
    [Parameter] public bool LogX { get; set; }
    [Parameter] public bool LogY { get; set; }
    /// <summary>Whole-number ticks only (epochs).</summary>
    [Parameter] public bool IntegerX { get; set; }
    [Parameter] public int Height { get; set; } = 320;
    [Parameter] public string? TestId { get; set; }

    readonly string _id = "plot-" + Guid.NewGuid().ToString("N")[..12];
    readonly Config _config = new() { Responsive = true, DisplayLogo = false };
    PlotlyChart? _chart;
    IList<ITrace> _data = [];
    PlotLayout _layout = new();
    readonly SemaphoreSlim _gate = new(1, 1);
    /// <summary>What the browser holds: the layout signature, and per series key the points sent.</summary>
    string _shownSignature = "";
    Dictionary<string, int> _shown = [];
    bool _drawn;

    string Signature => string.Join('\u001f', Series.Select(s => s.Key).Append(Title ?? "").Append(XTitle).Append(YTitle)
        .Append(LogX.ToString()).Append(LogY.ToString()).Append(IntegerX.ToString()));

    protected override void OnInitialized()
    {
        // The first draw is the chart's own newPlot of these.
        _layout = BuildLayout();
        _data = BuildTraces();
        _shownSignature = Signature;
        _shown = Series.ToDictionary(s => s.Key, s => s.Points.Count);
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (firstRender) { _drawn = true; return; }
        if (_chart is null || !_drawn) return;
        await _gate.WaitAsync();
        try { await SyncAsync(); }
        catch (Microsoft.JSInterop.JSDisconnectedException) { }
        catch (TaskCanceledException) { }
        finally { _gate.Release(); }
    }

    async Task SyncAsync()
    {
        var signature = Signature;
        var grownOnly = signature == _shownSignature && Series.All(s => _shown.TryGetValue(s.Key, out var n) && s.Points.Count >= n
            // Hover labels are not extended with the points: a labelled series that changed is redrawn.
            && (s.Labels is null || s.Points.Count == n));
        if (!grownOnly)
        {
            _layout = BuildLayout();
            _chart!.Layout = _layout;
            _data.Clear();
            foreach (var t in BuildTraces()) _data.Add(t);
            _shownSignature = signature;
            _shown = Series.ToDictionary(s => s.Key, s => s.Points.Count);
            await _chart.React();
            return;
        }
        var xs = new List<IEnumerable<object>>();
        var ys = new List<IEnumerable<object>>();
        var indices = new List<int>();
        for (var i = 0; i < Series.Count; i++)
        {
            var s = Series[i];
            var from = _shown[s.Key];
            if (s.Points.Count == from) continue;
            var tail = s.Points.Skip(from).ToList();
            xs.Add(tail.Select(p => X(p.X)).ToList());
            ys.Add(tail.Select(p => Y(p.Y)).ToList());
            indices.Add(i);
            _shown[s.Key] = s.Points.Count;
        }
        if (indices.Count > 0) await _chart!.ExtendTraces(xs, ys, indices);
    }

    // JSON has no NaN or infinity: a value the run could not measure is a gap (null) in the line.
    static object X(double x) => x;
    static object Y(double y) => double.IsFinite(y) ? y : null!;

    List<ITrace> BuildTraces() => Series.Select(s => (ITrace)new Scatter
    {
        Name = s.Name,
        Mode = s.Lines && s.Markers ? ModeFlag.Lines | ModeFlag.Markers : s.Markers ? ModeFlag.Markers : ModeFlag.Lines,
        X = s.Points.Select(p => X(p.X)).ToList(),
        Y = s.Points.Select(p => Y(p.Y)).ToList(),
        TextArray = s.Labels?.ToList(),
        Marker = s.Markers ? new Plotly.Blazor.Traces.ScatterLib.Marker { Size = 9 } : null,
    }).ToList();

    PlotLayout BuildLayout() => new()
    {
        Height = Height,
        // The top margin leaves the mode bar room above the legend.
        Margin = new Margin { L = 60, R = 20, T = 30, B = 50 },
        ShowLegend = true,
        XAxis = [new XAxis
        {
            Title = new Plotly.Blazor.LayoutLib.XAxisLib.Title { Text = XTitle },
            Type = LogX ? Plotly.Blazor.LayoutLib.XAxisLib.TypeEnum.Log : Plotly.Blazor.LayoutLib.XAxisLib.TypeEnum.Linear,
            TickFormat = IntegerX ? "d" : null,
        }],
        YAxis = [new YAxis
        {
            Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = YTitle },
            Type = LogY ? Plotly.Blazor.LayoutLib.YAxisLib.TypeEnum.Log : Plotly.Blazor.LayoutLib.YAxisLib.TypeEnum.Linear,
        }],
    };

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        _gate.Dispose();
    }
}
