namespace ModelZoo.Core.Strategies;

/// <summary>Where the sparsity target applies.</summary>
public enum PruneScope
{
    [Choice("Global: one threshold over all conv and linear weights")] Global,
    [Choice("Per layer: the same fraction in every layer")] Layer,
}

/// <summary>
/// Magnitude pruning of a succeeded run's trained model (<c>RunRequest.SourceRunId</c>) with a short fine-tune that
/// keeps the pruned weights at zero: compression for deployment as a queued run, with live progress and a card.
/// </summary>
public sealed record PruneOptions : StrategyOptions, IStrategyDefinition<PruneOptions>
{
    public const double MaxSparsity = 0.99;
    /// <summary>Epoch value and result value: zeros over all conv and linear weights, counted on the weights.</summary>
    public const string SparsityMetric = "sparsity";
    /// <summary>Result values: the source run's model on this run's test split before pruning, and right after pruning
    /// (before the fine-tune). The accuracy after the fine-tune is the run's own test accuracy.</summary>
    public const string AccuracyBefore = "test_acc_before_pruning", AccuracyPruned = "test_acc_pruned";
    /// <summary>Result values, one per pruned weight: <c>sparsity/&lt;state_dict key&gt;</c>.</summary>
    public const string LayerPrefix = "sparsity/";

    public static StrategyInfo Info { get; } = new()
    {
        Id = "prune",
        Title = "Magnitude pruning (a finished run's model, then a short fine-tune)",
        Order = 75,
        Summary = "Sets the smallest weights of a finished run's model to zero, then fine-tunes what is left with the zeros held fixed.",
        Explanation =
            "Unstructured magnitude pruning (Han et al. 2015; PyTorch's l1_unstructured and global_unstructured) of the trained " +
            "model another run saved: the conv and linear weights of smallest absolute value are set to zero, exactly " +
            "floor(sparsity × n) of them, n counted over all those weights (global: one threshold, so the wide late layers lose " +
            "most and the stem and the classifier least) or within each layer (per layer). Embeddings, norms and biases are kept. " +
            "Then every parameter fine-tunes on the run's training examples at a fraction of the run's learning rate, with the " +
            "pruned weights' gradients zeroed before each optimiser step and the weights set to zero again after it, so they " +
            "stay exactly zero. The run starts from the source run's model, not the catalogue's weights, and uses the same " +
            "model, dataset and image size as the source run. Its card reports the accuracy of the source model on the test " +
            "split, right after pruning and after the fine-tune, and the sparsity counted on the saved weights, overall and per " +
            "layer. The zeros are stored densely: the file is the F32 file's size and runs no faster here, since that needs a " +
            "sparse format or sparse kernels.",
        SourceRun = new SourceRunRole("Run to prune",
            "A run that succeeded and saved its trained model, of this run's model and dataset (so the same classes), at this run's image size."),
        Metrics =
        [
            new MetricInfo(SparsityMetric, "Sparsity", PerStep: false, "Zeros over all conv and linear weights, counted on the weights after the epoch (or, in the result, on the saved weights)."),
            new MetricInfo(AccuracyBefore, "Test accuracy before pruning", PerStep: false, "The source run's model on this run's test split, measured in this run (result only)."),
            new MetricInfo(AccuracyPruned, "Test accuracy right after pruning", PerStep: false, "The pruned model on the test split before any fine-tuning (result only)."),
        ],
    };

    [Option("Sparsity", "The fraction of conv and linear weights set to zero, from 0 (none) to 0.99; 0.5 costs little, 0.8-0.9 needs the fine-tune.", Min = 0, Max = MaxSparsity)]
    public double Sparsity { get; init; } = 0.5;

    [Option("Scope", "Global: one threshold over all those weights (keeps more accuracy at the same sparsity); per layer: the same fraction of every layer.")]
    public PruneScope Scope { get; init; } = PruneScope.Global;

    [Option("Fine-tune epochs", "Epochs of fine-tuning after pruning, with the zeros held (0: measure the pruned model as it is). Replaces the run's Epochs setting.", Min = 0, Max = 20)]
    public int FineTuneEpochs { get; init; } = 1;

    [Option("Learning-rate factor", "The fine-tune's learning rate as a multiple of the run's: the model is already trained, and at the full rate one epoch took an unpruned ResNet-18 from 98.5 % to 87.4 % (docs/benchmarks.md).", Min = 0.001, Max = 1)]
    public double LearningRateFactor { get; init; } = 0.1;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        const string Key = "SourceRunId";
        if (context.SourceRun is not { } source) yield break;
        if (source.ModelId != context.Model.Id)
            yield return new OptionProblem("ModelId", $"Run {source.Id} trained model '{source.ModelId}': pruning starts from that run's weights, so the run must use the same model, not '{context.Model.Id}'.");
        if (source.DatasetId != context.Dataset.Id)
            yield return new OptionProblem("DatasetId", $"Run {source.Id} was tested on '{source.DatasetId}': pruning compresses a model for the task it learnt, so the run must fine-tune and test on that dataset, not '{context.Dataset.Id}'.");
        if (context.Model.Modality == Datasets.DatasetModality.Image && source.ImageSize != context.Training.ImageSize)
            yield return new OptionProblem("HyperParameters.ImageSize", $"Run {source.Id} learnt at image size {Size(source.ImageSize)} and this run asks for {Size(context.Training.ImageSize)}: " +
                $"set the image size to {source.ImageSize}, so the pruned model reads what it learnt on.");
        if (source.Model is null)
            yield return new OptionProblem(Key, $"Run {source.Id} was trained from model '{source.ModelId}', which is no longer in the catalogue, so its model cannot be rebuilt.");
    }

    static string Size(int s) => s == 0 ? "0 (the model's own)" : s.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
