using Microsoft.AspNetCore.Components;
using ModelZoo.Infrastructure.Runs.Predict;

namespace ModelZoo.Web.Runs;

/// <summary>
/// The run page's "Where it goes wrong" gallery (<see cref="RunMistakes"/>). The first pass over a big test split takes
/// a while, so it starts after the first render (never during prerendering) and the page stays usable meanwhile.
/// <see cref="Cell"/> is the confusion-matrix cell (true, predicted class index) the user clicked; "clear" resets it.
/// </summary>
public partial class MistakesPanel
{
    [Inject] public RunMistakes Mistakes { get; set; } = default!;
    [Parameter, EditorRequired] public Guid RunId { get; set; }
    [Parameter] public (int True, int Predicted)? Cell { get; set; }
    [Parameter] public EventCallback<(int True, int Predicted)?> CellChanged { get; set; }
    [Parameter] public int Take { get; set; } = RunMistakes.DefaultTake;

    MistakesView? _view;
    string? _error;
    bool _started, _busy;
    (int True, int Predicted)? _shownCell;

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender) return;
        _started = true;
        await LoadAsync();
    }

    protected override async Task OnParametersSetAsync()
    {
        if (_started && Cell != _shownCell && !_busy) await LoadAsync();
    }

    async Task LoadAsync()
    {
        _busy = true;
        var cell = Cell;
        StateHasChanged();
        try
        {
            var names = _view?.ClassNames;
            string? Name(int i) => names is not null && i >= 0 && i < names.Count ? names[i] : null;
            var outcome = cell is { } c && names is not null
                ? await Mistakes.QueryAsync(RunId, Name(c.True), Name(c.Predicted), Take)
                : await Mistakes.QueryAsync(RunId, take: Take);
            // The first load learns the class names; a cell clicked before it finished is applied now.
            if (outcome.View is { } v && cell is { } first && names is null)
                outcome = await Mistakes.QueryAsync(RunId, v.ClassNames[first.True], v.ClassNames[first.Predicted], Take);
            _view = outcome.View;
            _error = outcome.View is null ? outcome.Problem : null;
            _shownCell = cell;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An exception escaping here would end the user's circuit: show it instead.
            _view = null;
            _error = $"The gallery could not be computed: {e.Message}";
        }
        finally
        {
            _busy = false;
            StateHasChanged();
        }
        if (Cell != _shownCell && _error is null) await LoadAsync();
    }

    async Task ClearAsync()
    {
        Cell = null;
        await CellChanged.InvokeAsync(null);
        if (_shownCell is not null && !_busy) await LoadAsync();
    }

    static string Shown(MistakesView v) => v.Examples.Count == v.Matching ? $"all {v.Matching}" : $"the first {v.Examples.Count} of {v.Matching}";
}
