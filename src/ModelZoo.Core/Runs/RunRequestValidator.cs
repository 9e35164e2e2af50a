using ModelZoo.Core.Datasets;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Runs;

/// <summary>A checked request: the errors by field, and when there are none, the strategy and its typed options.</summary>
public sealed record RunCheck(IReadOnlyDictionary<string, string> Errors, StrategyDescription? Strategy, StrategyOptions? Options)
{
    public bool Ok => Errors.Count == 0;
}

/// <summary>
/// One set of rules for the form and the REST API, so both explain a bad value in the same words.
/// Keys are the field names ("HyperParameters.Epochs", "Options.frozenStages") so a form can show each message under
/// its field. The strategy's own options are checked from its description and its options record, never here by name.
/// </summary>
public static class RunRequestValidator
{
    public const int MaxEpochs = 500;
    public const int MaxBatchSize = 4096;
    public const int MinTokens = 8, MaxTokens = 4096;

    /// <param name="model">The facts of a catalogue entry's model; null for an unknown id.</param>
    /// <param name="dataset">A ready dataset's facts; null when it does not exist or is not fetched.</param>
    /// <param name="run">A stored run's facts, for strategies that learn from one; null (or absent): no such run.</param>
    public static RunCheck Validate(RunRequest r, IStrategyCatalog strategies, Func<string, ModelFacts?> model, Func<string, DatasetInfo?> dataset,
        Func<Guid, SourceRunFacts?>? run = null)
    {
        var errors = new Dictionary<string, string>();
        ModelFacts? m = null;
        DatasetInfo? d = null, target = null;
        if (string.IsNullOrWhiteSpace(r.ModelId)) errors["ModelId"] = "Choose a model.";
        else if ((m = model(r.ModelId)) is null) errors["ModelId"] = $"Model '{r.ModelId}' is not in the catalogue.";
        if (string.IsNullOrWhiteSpace(r.DatasetId)) errors["DatasetId"] = "Choose a dataset.";
        else if ((d = dataset(r.DatasetId)) is null) errors["DatasetId"] = $"Dataset '{r.DatasetId}' does not exist or is not ready.";
        if (m is not null && d is not null && m.Modality != d.Modality)
            errors["DatasetId"] = $"Model '{r.ModelId}' reads {Noun(m.Modality)}, but dataset '{r.DatasetId}' holds {Noun(d.Modality)}: " +
                                  $"choose a{(m.Modality == DatasetModality.Image ? "n image" : " text")} dataset, or a{(d.Modality == DatasetModality.Image ? "n image" : " text")} model for this one.";

        var strategy = strategies.Find(r.Strategy);
        if (strategy is null)
            errors["Strategy"] = $"Unknown strategy '{r.Strategy}'. Known: {string.Join(", ", strategies.All.Select(s => s.Id))}.";
        else if (m is not null && StrategyCatalog.Misfit(strategy, m) is { } misfit)
            errors["Strategy"] = misfit;

        IReadOnlyList<DatasetInfo> tasks = [];
        SourceRunFacts? source = null;
        if (strategy is not null)
        {
            target = CheckTarget(r, strategy, d, dataset, errors);
            tasks = CheckTasks(r, strategy, m, d, dataset, errors);
            source = CheckSourceRun(r, strategy, d, run, errors);
        }

        var h = r.HyperParameters;
        if (h is null) { errors["HyperParameters"] = "Hyper-parameters are required."; return new RunCheck(errors, null, null); }
        CheckTraining(h, errors);
        if (r.Name is { Length: > 200 }) errors["Name"] = "Name must be at most 200 characters.";

        StrategyOptions? options = null;
        if (strategy is not null)
        {
            var (read, problems) = StrategyOptionsReader.Read(strategy, r.Options);
            foreach (var p in problems) errors.TryAdd(p.Field, p.Message);
            // Checks against the model and the data only when those are known and fit; otherwise their own errors say why.
            if (read is not null && m is not null && d is not null && !errors.ContainsKey("DatasetId") && !errors.ContainsKey("Strategy")
                && !errors.ContainsKey("TargetDatasetId") && !errors.ContainsKey("TaskDatasetIds") && !errors.ContainsKey("SourceRunId"))
                foreach (var p in read.Check(new StrategyCheckContext(m, d, target, h) { Tasks = tasks, SourceRun = source }))
                    errors.TryAdd(p.Field, p.Message);
            options = read;
        }
        if (d is not null && h.LabelsPerClass is { } budget && budget > 0 && !errors.ContainsKey("DatasetId"))
        {
            var smallest = d.ClassCounts.Count == 0 ? (int?)null : d.ClassCounts.Min();
            if (smallest is { } s && s < 2)
                errors.TryAdd("HyperParameters.LabelsPerClass", $"Dataset '{d.Id}' has a class with {s} example; a label budget needs at least 2 per class.");
        }
        return errors.Count > 0 ? new RunCheck(errors, strategy, null) : new RunCheck(errors, strategy, options);
    }

    /// <summary>The loop's settings, the same for every strategy.</summary>
    static void CheckTraining(HyperParameters h, Dictionary<string, string> errors)
    {
        if (h.Epochs is < 1 or > MaxEpochs) errors["HyperParameters.Epochs"] = $"Epochs must be between 1 and {MaxEpochs}.";
        if (h.BatchSize is < 1 or > MaxBatchSize) errors["HyperParameters.BatchSize"] = $"Batch size must be between 1 and {MaxBatchSize}.";
        if (double.IsNaN(h.LearningRate) || h.LearningRate <= 0 || h.LearningRate > 10)
            errors["HyperParameters.LearningRate"] = "Learning rate must be greater than 0 and at most 10 (typical: 1e-4 to 1e-2).";
        if (h.Seed < 0) errors["HyperParameters.Seed"] = "Seed must be zero or positive.";
        if (h.ImageSize != 0 && h.ImageSize is < 16 or > 512) errors["HyperParameters.ImageSize"] = "Input size must be between 16 and 512 pixels (0: the model's own).";
        if (h.MaxTokens is < MinTokens or > MaxTokens) errors["HyperParameters.MaxTokens"] = $"Maximum text length must be between {MinTokens} and {MaxTokens} tokens.";
        if (h.TrainLimit < 0) errors["HyperParameters.TrainLimit"] = "Training limit must be zero (all) or positive.";
        if (h.LabelsPerClass is < 1)
            errors["HyperParameters.LabelsPerClass"] = $"Label budget must be at least 1 example per class (it is {h.LabelsPerClass}); leave it empty to use every label.";
        if (h.WeightDecay is { } wd && (double.IsNaN(wd) || wd < 0 || wd > 1)) errors["HyperParameters.WeightDecay"] = "Weight decay must be between 0 and 1 (typical: 0.01 for AdamW, 5e-4 for SGD).";
        if (double.IsNaN(h.Momentum) || h.Momentum < 0 || h.Momentum >= 1) errors["HyperParameters.Momentum"] = "Momentum must be at least 0 and below 1 (typical: 0.9).";
        if (h.Nesterov && h.Optimizer != OptimizerKind.Sgd) errors["HyperParameters.Nesterov"] = "Nesterov momentum applies to SGD only; choose SGD or turn it off.";
        if (h.Nesterov && h.Momentum <= 0) errors["HyperParameters.Nesterov"] = "Nesterov momentum needs a momentum above 0.";
        if (double.IsNaN(h.WarmupFraction) || h.WarmupFraction < 0 || h.WarmupFraction > 0.5) errors["HyperParameters.WarmupFraction"] = "Warmup must be between 0 and 0.5 of the steps.";
        if (double.IsNaN(h.LabelSmoothing) || h.LabelSmoothing < 0 || h.LabelSmoothing >= 1) errors["HyperParameters.LabelSmoothing"] = "Label smoothing must be at least 0 and below 1 (typical: 0.1).";
        if (double.IsNaN(h.GradientClipNorm) || h.GradientClipNorm < 0) errors["HyperParameters.GradientClipNorm"] = "Gradient clipping must be 0 (off) or a positive norm (typical: 1).";
        if (h.EarlyStoppingPatience < 0 || h.EarlyStoppingPatience > MaxEpochs) errors["HyperParameters.EarlyStoppingPatience"] = "Early-stopping patience must be 0 (off) or a number of epochs.";
        if (!Enum.IsDefined(h.Optimizer)) errors["HyperParameters.Optimizer"] = "Optimiser must be AdamW or Sgd.";
        if (!Enum.IsDefined(h.Schedule)) errors["HyperParameters.Schedule"] = "Schedule must be WarmupCosine, OneCycle or Constant.";
        if (!Enum.IsDefined(h.ClassBalance)) errors["HyperParameters.ClassBalance"] = "Class balance must be None, WeightedLoss or WeightedSampler.";
        if (h.Augmentation is { } a)
            foreach (var (field, message) in a.Validate()) errors[$"HyperParameters.Augmentation.{field}"] = message;
    }

    /// <summary>A strategy that adapts to a target needs one with the labelled dataset's classes (matched by name);
    /// the others take none.</summary>
    static DatasetInfo? CheckTarget(RunRequest r, StrategyDescription strategy, DatasetInfo? source, Func<string, DatasetInfo?> dataset, Dictionary<string, string> errors)
    {
        if (!strategy.Info.NeedsTarget)
        {
            if (!string.IsNullOrWhiteSpace(r.TargetDatasetId))
                errors["TargetDatasetId"] = $"{strategy.Title} uses no target dataset; leave it empty or choose a domain-adaptation strategy.";
            return null;
        }
        if (string.IsNullOrWhiteSpace(r.TargetDatasetId))
        {
            errors["TargetDatasetId"] = $"{strategy.Title} needs a target dataset: its training split is used without labels.";
            return null;
        }
        var target = dataset(r.TargetDatasetId);
        if (target is null) { errors["TargetDatasetId"] = $"Dataset '{r.TargetDatasetId}' does not exist or is not ready."; return null; }
        if (source is null) return target;
        if (target.Id == source.Id) { errors["TargetDatasetId"] = "The target must be another dataset than the labelled one."; return target; }
        if (target.Modality != source.Modality)
        {
            errors["TargetDatasetId"] = $"Dataset '{target.Id}' holds {Noun(target.Modality)} and '{source.Id}' {Noun(source.Modality)}: both domains must hold the same kind of data.";
            return target;
        }
        var missing = target.ClassNames.Where(c => !source.ClassNames.Contains(c)).ToList();
        if (missing.Count > 0)
            errors["TargetDatasetId"] = $"The class names do not match: target '{target.Id}' has {Names(missing)} that '{source.Id}' lacks. " +
                                        "Domain adaptation needs every target class among the labelled dataset's classes (matched by name).";
        return target;
    }

    /// <summary>Further task datasets: as many as the strategy takes, each ready, of the model's modality, and no
    /// dataset twice (the run's own included: a task learnt twice is not a second task).</summary>
    static IReadOnlyList<DatasetInfo> CheckTasks(RunRequest r, StrategyDescription strategy, ModelFacts? m, DatasetInfo? d,
        Func<string, DatasetInfo?> dataset, Dictionary<string, string> errors)
    {
        const string Key = "TaskDatasetIds";
        var ids = (r.TaskDatasetIds ?? []).Select(i => i?.Trim() ?? "").ToList();
        var role = strategy.Info.TaskDatasets;
        if (role is null)
        {
            if (ids.Count > 0) errors[Key] = $"{strategy.Title} learns one dataset; leave the further datasets empty or choose a multitask or continual strategy.";
            return [];
        }
        int total = ids.Count + 1;
        if (ids.Count < role.Min || ids.Count > role.Max)
        {
            errors[Key] = ids.Count < role.Min
                ? $"{strategy.Title} needs {role.Min + 1} to {role.Max + 1} datasets, one per task: choose {role.Min - ids.Count} more {role.Label.ToLowerInvariant()} (it has {total})."
                : $"{strategy.Title} takes at most {role.Max + 1} datasets, one per task (it was given {total}).";
            return [];
        }
        var found = new List<DatasetInfo>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { r.DatasetId };
        foreach (var id in ids)
        {
            if (id.Length == 0) { errors[Key] = "A task dataset id is empty."; return []; }
            if (!seen.Add(id))
            {
                errors[Key] = $"Dataset '{id}' appears twice among the tasks: each task must be a different dataset" +
                              (id == r.DatasetId ? " (it is already the run's first task)." : ".");
                return [];
            }
            if (dataset(id) is not { } info) { errors[Key] = $"Dataset '{id}' does not exist or is not ready."; return []; }
            if (m is not null && info.Modality != m.Modality)
            {
                errors[Key] = $"Model '{m.Id}' reads {Noun(m.Modality)}, but task dataset '{id}' holds {Noun(info.Modality)}: every task must hold {Noun(m.Modality)} for this backbone.";
                return [];
            }
            found.Add(info);
        }
        return found;
    }

    /// <summary>The finished run a strategy learns from: it must exist, have succeeded and saved its model, and where the
    /// strategy says so, have the run's dataset's classes in the same order.</summary>
    static SourceRunFacts? CheckSourceRun(RunRequest r, StrategyDescription strategy, DatasetInfo? d, Func<Guid, SourceRunFacts?>? run,
        Dictionary<string, string> errors)
    {
        const string Key = "SourceRunId";
        var role = strategy.Info.SourceRun;
        if (role is null)
        {
            if (r.SourceRunId is not null) errors[Key] = $"{strategy.Title} learns from no other run; leave the source run empty or choose distillation.";
            return null;
        }
        if (r.SourceRunId is not { } id) { errors[Key] = $"{strategy.Title} needs a {role.Label.ToLowerInvariant()}: a run that succeeded."; return null; }
        if (run?.Invoke(id) is not { } facts) { errors[Key] = $"Run {id} does not exist."; return null; }
        if (facts.Status != RunStatus.Succeeded)
        {
            errors[Key] = $"Run {id} is {facts.Status.ToString().ToLowerInvariant()}: the {role.Label.ToLowerInvariant()} must be a run that succeeded.";
            return facts;
        }
        if (!facts.HasWeights) { errors[Key] = $"Run {id} saved no trained model, so it cannot serve as the {role.Label.ToLowerInvariant()}."; return facts; }
        if (role.SameClasses && d is not null && !facts.ClassNames.SequenceEqual(d.ClassNames))
            errors[Key] = $"Run {id} learnt the classes of '{facts.DatasetId}' ({Names(facts.ClassNames)}), which differ from dataset '{d.Id}''s " +
                          $"({Names(d.ClassNames)}): the {role.Label.ToLowerInvariant()} must predict the same classes in the same order.";
        return facts;
    }

    static string Names(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(8).Select(n => $"'{n}'")) + (names.Count > 8 ? $" and {names.Count - 8} more" : "");

    static string Noun(DatasetModality m) => m == DatasetModality.Image ? "images" : "texts";
}
