using System.Globalization;
using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs.Compression;

namespace ModelZoo.Web.Runs;

/// <summary>The run page's "Compression" panel (<see cref="RunCompressions"/>): the stored results, and for analysts the
/// form that adds one. int8 is answered when done (seconds), so the button shows progress and stays off meanwhile;
/// pruning queues a run of its own and the panel links to it.</summary>
public partial class CompressionPanel
{
    [Inject] public RunCompressions Compressions { get; set; } = default!;
    [Parameter, EditorRequired] public Guid RunId { get; set; }
    /// <summary>Called after a compression is stored, so the page can reload the card that reports it.</summary>
    [Parameter] public EventCallback Compressed { get; set; }

    IReadOnlyList<CompressionResult> _results = [];
    string _method = CompressionMethods.Int8, _scope = CompressionMethods.Global;
    double _sparsity = 0.5;
    int _epochs = 1;
    bool _busy;
    string? _error;

    /// <summary>The pruning run this panel launched last, linked until the page is left.</summary>
    Guid? _launched;
    System.Security.Claims.ClaimsPrincipal? _user;
    [CascadingParameter] Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState>? AuthState { get; set; }

    protected override async Task OnParametersSetAsync()
    {
        _results = await Compressions.ListAsync(RunId) ?? [];
        _user = AuthState is null ? null : (await AuthState).User;
    }

    async Task CompressAsync()
    {
        _busy = true; _error = null;
        StateHasChanged();
        try
        {
            var request = _method == CompressionMethods.Int8 ? new CompressionRequest { Method = _method }
                : new CompressionRequest { Method = _method, Sparsity = _sparsity, Scope = _scope, FineTuneEpochs = _epochs };
            var outcome = await Compressions.CompressAsync(RunId, request, _user is null ? null : ModelZoo.Web.Accounts.ZooPolicies.AccountId(_user));
            _launched = outcome.LaunchedRunId;
            if (outcome.Result is null && outcome.LaunchedRunId is null) _error = outcome.Problem;
            _results = await Compressions.ListAsync(RunId) ?? [];
            if (outcome.Result is not null) await Compressed.InvokeAsync();
        }
        finally { _busy = false; }
    }

    static string Describe(CompressionResult r) => r.Method == CompressionMethods.Int8 ? "int8 weights (per-channel, symmetric)"
        : string.Create(CultureInfo.InvariantCulture,
            $"prune {r.Sparsity:P0} ({r.Scope}), {r.FineTuneEpochs} fine-tune epoch(s); achieved {r.AchievedSparsity:P1}");
}
