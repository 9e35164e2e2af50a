namespace ModelZoo.Core.Runs;

/// <summary>
/// What to do to a succeeded run's trained model (<c>POST /api/runs/{id}/compressions</c>). <c>int8</c>: post-training
/// per-channel symmetric int8 weights, a download that needs its loader, made in the request. <c>prune</c>: a queued run
/// of the <c>prune</c> strategy: magnitude pruning of the conv and linear weights to <see cref="Sparsity"/>, over all of
/// them (<c>global</c>) or each layer (<c>layer</c>), then <see cref="FineTuneEpochs"/> epochs of fine-tuning with the
/// mask held fixed.
/// </summary>
public sealed record CompressionRequest
{
    public string Method { get; init; } = CompressionMethods.Int8;
    /// <summary>Fraction of conv and linear weights set to zero, in [0, 0.99] (prune only).</summary>
    public double? Sparsity { get; init; }
    /// <summary><c>global</c> (default) or <c>layer</c> (prune only).</summary>
    public string? Scope { get; init; }
    /// <summary>Epochs of fine-tuning after pruning, 0 to <see cref="CompressionMethods.MaxFineTuneEpochs"/> (prune only; default 1).</summary>
    public int? FineTuneEpochs { get; init; }
}

public static class CompressionMethods
{
    public const string Int8 = "int8", Prune = "prune";
    public const string Global = "global", Layer = "layer";
    public const int MaxFineTuneEpochs = 20;

    /// <summary>
    /// The <c>prune</c> run of a run's model, as the compression endpoint launches it (and the pruning study trains it):
    /// the source run's request (model, image size, seed, label budget and training limit, so the fine-tune sees the same
    /// training examples) on the dataset it was tested on, with the pruning options, its epochs set to the fine-tune's
    /// and a constant learning rate (the strategy trains at a fraction of it; the run's warm-up and decay would restart
    /// at its peak), no early stopping.
    /// </summary>
    public static RunRequest PruneRun(RunRequest source, Guid sourceRunId, double sparsity, string? scope, int fineTuneEpochs, string? name = null) =>
        source with
        {
            Strategy = Strategies.PruneOptions.Info.Id,
            DatasetId = source.TargetDatasetId ?? source.DatasetId,
            TargetDatasetId = null, TaskDatasetIds = null, BaselineFor = null, SourceRunId = sourceRunId,
            Options = new System.Text.Json.Nodes.JsonObject
            {
                ["sparsity"] = sparsity,
                ["scope"] = (scope == Layer ? Strategies.PruneScope.Layer : Strategies.PruneScope.Global).ToString(),
                ["fineTuneEpochs"] = fineTuneEpochs,
            },
            HyperParameters = source.HyperParameters with { Epochs = Math.Max(1, fineTuneEpochs), Schedule = LearningRateSchedule.Constant, EarlyStoppingPatience = 0 },
            Name = name is { Length: > 200 } ? name[..200] : name,
        };

    /// <summary>Each refused option with the reason, by option name; empty when the request is valid.</summary>
    public static IReadOnlyDictionary<string, string> Validate(CompressionRequest r)
    {
        var errors = new Dictionary<string, string>();
        if (r.Method is not (Int8 or Prune))
            errors["method"] = $"method must be '{Int8}' or '{Prune}', not '{r.Method}'.";
        else if (r.Method == Int8)
        {
            if (r.Sparsity is not null) errors["sparsity"] = "sparsity applies to method 'prune' only.";
            if (r.Scope is not null) errors["scope"] = "scope applies to method 'prune' only.";
            if (r.FineTuneEpochs is not null) errors["fineTuneEpochs"] = "fineTuneEpochs applies to method 'prune' only.";
        }
        else
        {
            if (r.Sparsity is not { } s) errors["sparsity"] = "sparsity is required for method 'prune': the fraction of conv and linear weights to set to zero, in [0, 0.99].";
            else if (!double.IsFinite(s) || s < 0 || s > 0.99)
                errors["sparsity"] = $"sparsity must be between 0 and 0.99 (the fraction of conv and linear weights set to zero), not {s}.";
            if (r.Scope is not (null or Global or Layer)) errors["scope"] = $"scope must be '{Global}' or '{Layer}', not '{r.Scope}'.";
            if (r.FineTuneEpochs is { } e && (e < 0 || e > MaxFineTuneEpochs))
                errors["fineTuneEpochs"] = $"fineTuneEpochs must be between 0 and {MaxFineTuneEpochs}, not {e}.";
        }
        return errors;
    }
}

/// <summary>What <c>POST /api/runs/{id}/compressions</c> answers for <c>prune</c>: the queued run that prunes the model
/// and fine-tunes it (strategy <c>prune</c>), its API address and its page.</summary>
public sealed record CompressionLaunch(string Method, Guid RunId, string Url, string Page)
{
    public static CompressionLaunch Of(Guid runId) => new(CompressionMethods.Prune, runId, $"/api/runs/{runId}", $"/runs/{runId}");
}

/// <summary>One pruned layer's sparsity as measured on the saved weights.</summary>
public sealed record LayerSparsity(string Layer, long Parameters, long Zeros, double Sparsity);

/// <summary>
/// One compression of a run, as stored in the run's folder (int8; pruning results of this shape were stored before
/// pruning became a run of its own, and are still read and shown) (<c>compressions/&lt;id&gt;.json</c>) and shown on its
/// page and card. Accuracies are measured here on the run's test split, prepared exactly as the run's evaluation
/// prepared it: <see cref="AccuracyBefore"/> from the run's F32 weights file, <see cref="AccuracyAfter"/> from the
/// compressed file as a user loads it (int8: dequantised by the loader; prune: the pruned, fine-tuned weights).
/// </summary>
public sealed record CompressionResult
{
    public Guid Id { get; init; }
    public Guid RunId { get; init; }
    public string Method { get; init; } = "";
    public double? Sparsity { get; init; }
    public string? Scope { get; init; }
    public int? FineTuneEpochs { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public int TestExamples { get; init; }
    /// <summary>The run's own recorded test accuracy, for comparison with <see cref="AccuracyBefore"/>.</summary>
    public double RecordedAccuracy { get; init; }
    public double AccuracyBefore { get; init; }
    /// <summary>Pruned, before the fine-tune (prune only).</summary>
    public double? AccuracyPruned { get; init; }
    public double AccuracyAfter { get; init; }
    public long BytesBefore { get; init; }
    public long BytesAfter { get; init; }
    /// <summary>Zeros over all prunable weights (prune only).</summary>
    public double? AchievedSparsity { get; init; }
    public IReadOnlyList<LayerSparsity> Layers { get; init; } = [];
    public IReadOnlyList<double> FineTuneLosses { get; init; } = [];
    /// <summary>The downloadable file's name, in the run's folder.</summary>
    public string File { get; init; } = "";
    public string Sha256 { get; init; } = "";
    /// <summary>What a user needs to load the file (int8 needs the loader).</summary>
    public string Loading { get; init; } = "";
    public double Seconds { get; init; }
}
