using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Plan;
using ModelZoo.Infrastructure.Runs.Plan;
using ModelZoo.Web.Components.Shared;

namespace ModelZoo.Web.Runs;

/// <summary>
/// Plans the form's request again a moment after it stops changing (<see cref="PlanRefresh"/>) and shows the map and
/// the warnings. It re-renders only itself when a plan arrives: a re-render of the whole form would give its buttons
/// new event handlers while a click may be on its way.
/// </summary>
public partial class LaunchPlanPanel : ComponentBase
{
    /// <summary>How long the form must stay unchanged before it is planned again.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(400);

    [Inject] RunPlanner Planner { get; set; } = default!;
    [Parameter, EditorRequired] public RunRequest Request { get; set; } = default!;

    PlanRefresh _refresh = default!;

    /// <summary>The last plan of a valid request; an invalid one shows nothing here (the launch explains it).</summary>
    RunPlan? Plan => _refresh.Current is { Ok: true } r ? r.Plan : null;

    string Title => Plan?.Map is { } m
        ? $"Trainable map: {Format.Params(m.TrainedParameters)} of {Format.Params(m.TotalParameters)} parameters train" +
          (Plan.Warnings.Count > 0 ? $"; {Plan.Warnings.Count} warning{(Plan.Warnings.Count == 1 ? "" : "s")}" : "")
        : "Trainable map";

    protected override void OnInitialized() => _refresh = new PlanRefresh(Planner, Delay);

    protected override void OnParametersSet() => _ = RefreshAsync(Request);

    async Task RefreshAsync(RunRequest request)
    {
        try
        {
            if (await _refresh.UpdateAsync(request)) await InvokeAsync(StateHasChanged);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            // A plan that cannot be made leaves the panel as it was: the launch's own checks still speak.
        }
    }

    public void Dispose() => _refresh.Dispose();
}
