using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;
using ModelZoo.Core.Strategies;
using ModelZoo.Infrastructure.Runs.Experiments;

namespace ModelZoo.Web.Runs;

/// <summary>
/// The launch form of a grid: models and strategies as check lists, seeds and label budgets as comma-separated
/// numbers, the shared epochs, batch size, learning rate and training limit. The checks are the service's (the plan's
/// and each run's), shown under the field they name, so the form and the API explain a bad value in the same words.
/// </summary>
public partial class NewExperimentPage : ComponentBase
{
    [Inject] ICatalog Catalog { get; set; } = default!;
    [Inject] IDatasetCatalog Datasets { get; set; } = default!;
    [Inject] IStrategyCatalog Strategies { get; set; } = default!;
    [Inject] ExperimentService Experiments { get; set; } = default!;
    [Inject] NavigationManager Nav { get; set; } = default!;

    /// <summary>The form's state: lists keep the order of ticking, which is the grid's row and column order.</summary>
    sealed class Form
    {
        public string? Name { get; set; }
        public string DatasetId { get; set; } = "";
        public List<string> Models { get; } = [];
        public List<string> Strategies { get; } = [];
        public string Seeds { get; set; } = "1, 2, 3";
        public string? LabelBudgets { get; set; }
        public int Epochs { get; set; } = new HyperParameters().Epochs;
        public int BatchSize { get; set; } = new HyperParameters().BatchSize;
        public double LearningRate { get; set; } = new HyperParameters().LearningRate;
        public int TrainLimit { get; set; }
    }

    readonly Form _form = new();
    /// <summary>Each strategy's option values as edited, kept when it is unticked and ticked again.</summary>
    readonly Dictionary<string, Dictionary<string, object?>> _options = [];
    IReadOnlyList<CatalogEntry> _models = [];
    IReadOnlyList<DatasetInfo> _datasets = [];
    IReadOnlyDictionary<string, string> _errors = new Dictionary<string, string>();
    bool _busy;

    protected override void OnInitialized()
    {
        _models = Catalog.All();
        _datasets = Datasets.All();
        _form.DatasetId = _datasets.FirstOrDefault(d => d.Modality == DatasetModality.Image)?.Id ?? _datasets.FirstOrDefault()?.Id ?? "";
    }

    DatasetInfo? SelectedDataset => _datasets.FirstOrDefault(d => d.Id == _form.DatasetId);

    /// <summary>Models of the dataset's modality (text models read texts, the rest images).</summary>
    IEnumerable<CatalogEntry> FittingModels => _models.Where(m => (m.Manifest.Text is not null) == (SelectedDataset?.Modality == DatasetModality.Text));

    /// <summary>A grid has one dataset, so strategies that need a second one (domain adaptation) are not offered.</summary>
    IEnumerable<StrategyDescription> GridStrategies => Strategies.All.Where(s => !s.Info.NeedsTarget);

    Dictionary<string, object?> OptionsOf(string strategy)
    {
        if (_options.TryGetValue(strategy, out var values)) return values;
        values = Strategies.Find(strategy)?.Options.ToDictionary(o => o.Name, o => (object?)o.Default) ?? [];
        return _options[strategy] = values;
    }

    /// <summary>The options changed from their defaults, so a column reads "partial-fine-tune (frozenStages 3)" and
    /// not every option's value.</summary>
    JsonObject? ChangedOptions(string strategy)
    {
        if (Strategies.Find(strategy) is not { } s || !_options.TryGetValue(strategy, out var values)) return null;
        var changed = new JsonObject();
        foreach (var o in s.Options)
            if (values.TryGetValue(o.Name, out var v) && NewRunForm.Json(v) is { } node
                && node.ToJsonString() != NewRunForm.Json(o.Default)?.ToJsonString())
                changed[o.Name] = node;
        return changed.Count == 0 ? null : changed;
    }

    /// <summary>The depths a frozen-stages option offers, named by the first chosen model (or the first that fits).</summary>
    IReadOnlyList<string> OptionStages =>
        (_models.FirstOrDefault(m => m.Id == _form.Models.FirstOrDefault()) ?? FittingModels.FirstOrDefault())?.Facts?.BackboneStages ?? [];

    /// <summary>An arm's errors under the keys the options editor reads (<c>Options.frozenStages</c>).</summary>
    IReadOnlyDictionary<string, string> ArmErrors(string strategy)
    {
        var prefix = $"Strategies[{_form.Strategies.IndexOf(strategy)}].";
        return _errors.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(e => e.Key[prefix.Length..], e => e.Value);
    }

    static void Toggle(List<string> list, string id, bool on)
    {
        if (on && !list.Contains(id)) list.Add(id);
        else if (!on) list.Remove(id);
    }

    /// <summary>Numbers as typed, or null with the reason when one is not a whole number.</summary>
    static (List<int>? Values, string? Error) Numbers(string? text, string what)
    {
        var values = new List<int>();
        foreach (var part in (text ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return (null, $"'{part}' is not a whole number of {what}.");
            values.Add(v);
        }
        return (values, null);
    }

    ExperimentRequest? Request(out Dictionary<string, string> errors)
    {
        errors = [];
        var (seeds, seedError) = Numbers(_form.Seeds, "a seed");
        var (budgets, budgetError) = Numbers(_form.LabelBudgets, "labels per class");
        if (seedError is not null) errors["Seeds"] = seedError;
        if (budgetError is not null) errors["LabelBudgets"] = budgetError;
        if (errors.Count > 0) return null;
        return new ExperimentRequest
        {
            Name = _form.Name, DatasetId = _form.DatasetId, Models = [.. _form.Models],
            Strategies = _form.Strategies.Select(s => new StrategyChoice { Id = s, Options = ChangedOptions(s) }).ToList(),
            Seeds = seeds!, LabelBudgets = budgets!.Count == 0 ? null : budgets,
            HyperParameters = new HyperParameters { Epochs = _form.Epochs, BatchSize = _form.BatchSize, LearningRate = _form.LearningRate, TrainLimit = _form.TrainLimit },
        };
    }

    string RunCountText
    {
        get
        {
            if (Request(out _) is not { } r) return "";
            var budgets = Math.Max(1, r.LabelBudgets?.Count ?? 0);
            var total = r.Models.Count * r.Strategies.Count * budgets * r.Seeds.Count;
            return $"{r.Models.Count} × {r.Strategies.Count} × {budgets} × {r.Seeds.Count} = {total} runs" +
                   (total > ExperimentPlan.MaxRuns ? $" (at most {ExperimentPlan.MaxRuns})" : "");
        }
    }

    [CascadingParameter] Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState>? AuthState { get; set; }

    async Task LaunchAsync()
    {
        _busy = true;
        try
        {
            if (Request(out var formErrors) is not { } request) { _errors = formErrors; return; }
            var owner = AuthState is null ? null : ModelZoo.Web.Accounts.ZooPolicies.AccountId((await AuthState).User);
            var result = await Experiments.LaunchAsync(request, owner, default);
            _errors = result.Errors;
            if (result.Ok) Nav.NavigateTo($"/experiments/{result.ExperimentId}");
        }
        finally { _busy = false; }
    }

    static readonly string[] Shown = ["DatasetId", "Models", "Strategies", "Seeds", "LabelBudgets", "HyperParameters.Epochs",
        "HyperParameters.BatchSize", "HyperParameters.LearningRate", "HyperParameters.TrainLimit"];

    bool Has(string field) => _errors.ContainsKey(field);
    string? Err(string field) => _errors.GetValueOrDefault(field);
    IEnumerable<string> ErrorsStartingWith(string prefix) => _errors.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(e => e.Value);

    /// <summary>Errors no field above shows (the run cap, a bad budget of one run, settings the form does not offer).</summary>
    IEnumerable<(string Field, string Message)> OtherErrors => _errors
        .Where(e => !Shown.Contains(e.Key) && !e.Key.StartsWith("Models[", StringComparison.Ordinal) && !e.Key.StartsWith("Strategies[", StringComparison.Ordinal))
        .Select(e => (e.Key, e.Value));
}
