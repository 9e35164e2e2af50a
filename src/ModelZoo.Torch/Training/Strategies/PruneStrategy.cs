using System.Globalization;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Compression;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Predict;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Magnitude pruning of a finished run's model as a run of its own: <see cref="Setup"/> copies the source run's trained
/// weights (<see cref="Core.Training.TrainingJob.SourceRun"/>) into the run's model, measures it on the test split,
/// computes the masks (<see cref="PruningMasks"/>), zeroes the pruned weights and measures again; the shared loop then
/// fine-tunes every parameter at <see cref="PruneOptions.LearningRateFactor"/> of the run's rate while the strategy
/// zeroes the pruned weights' gradients before each optimiser step and the weights after it. Sparsity is counted on
/// the weights (not the masks) after every epoch and on the tested weights at the end.
/// <para>The masks are recomputed from the source run's file when a run resumes, so they are the same and need no
/// checkpoint of their own.</para>
/// </summary>
public sealed class PruneStrategy : TrainingStrategy<PruneOptions>
{
    PruningMasks? _masks;
    (Parameter Weight, Tensor Mask)[] _pairs = [];
    Core.Training.SourceRunModel? _source;
    double _before = double.NaN, _pruned = double.NaN;
    IReadOnlyList<LayerSparsityReport> _layers = [];

    /// <summary>The masks (1 = kept) by state_dict key, once <see cref="Setup"/> has run.</summary>
    public IReadOnlyDictionary<string, Tensor> Masks => _masks?.Masks ?? throw new InvalidOperationException("Setup has not run.");

    /// <summary>The source run's weights replace the catalogue's, so the entry's are not loaded first.</summary>
    public override bool LoadsPretrainedWeights => false;

    static PruningScope ScopeOf(PruneScope s) => s == PruneScope.Layer ? PruningScope.Layer : PruningScope.Global;

    public override void Setup(RunContext run)
    {
        // A plan (the new-run page's map, on the meta device) needs only the parameter groups: no weights, no data.
        if (run.Planning) return;
        _source = run.Job.SourceRun ?? throw new InvalidOperationException("SourceRunId: pruning needs the run whose model it prunes, and the job has none.");
        using (var trained = TrainedModel.Load(_source.WeightsPath, ArchitectureOptions.Of(_source.Model), run.Registry))
        {
            if (trained.Architecture.Name != run.Architecture.Name)
                throw new InvalidOperationException($"SourceRunId: run {_source.RunId}'s model is a {trained.Architecture.Name} and this run's a {run.Architecture.Name}.");
            if (trained.Model.NumClasses != run.Classes)
                throw new InvalidOperationException($"SourceRunId: run {_source.RunId}'s model predicts {trained.Model.NumClasses} classes and this run's dataset has {run.Classes}.");
            var from = trained.Model.state_dict();
            var to = run.Model.state_dict();
            if (from.Keys.Order().SequenceEqual(to.Keys.Order()) is false || from.Any(kv => !kv.Value.shape.SequenceEqual(to[kv.Key].shape)))
                throw new InvalidOperationException($"SourceRunId: run {_source.RunId}'s saved model does not have this run's model's tensors (a different config?).");
            RunContext.CopyInto(trained.Model, run.Model);
        }
        _before = TestAccuracy(run);
        _masks = PruningMasks.Compute(run.Model, Options.Sparsity, ScopeOf(Options.Scope));
        var byKey = _masks.Masks;
        _pairs = PruningMasks.PrunableWeights(run.Model).Select(w => (w.Weight, byKey[w.Key])).ToArray();
        ApplyMasks();
        _pruned = TestAccuracy(run);
        var inv = CultureInfo.InvariantCulture;
        run.Report($"Pruned run {_source.RunId}'s model to {Options.Sparsity.ToString("P0", inv)} ({Options.Scope.ToString().ToLowerInvariant()}): " +
                   $"test accuracy {Pct(_before)} before, {Pct(_pruned)} right after; fine-tuning {Options.FineTuneEpochs} epoch(s).");
    }

    double TestAccuracy(RunContext run) =>
        run.TestIndices.Length == 0 ? double.NaN : Evaluator.Run(run, this, new EvaluationSet(run.Data, run.TestIndices)).Accuracy;

    void ApplyMasks()
    {
        using var _ = no_grad();
        foreach (var (w, mask) in _pairs) w.mul_(mask);
    }

    public override int Epochs(RunContext run) => Options.FineTuneEpochs;

    /// <summary>Every parameter, at a fraction of the run's rate; none when no fine-tune is asked for (the loop then
    /// goes straight to the test, and the pruned model is what it measures and saves).</summary>
    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        if (Options.FineTuneEpochs == 0)
        {
            foreach (var p in run.Model.parameters()) p.requires_grad = false;
            return [];
        }
        var parameters = run.Model.parameters().ToList();
        foreach (var p in parameters) p.requires_grad = true;
        return [new ParameterGroupSpec("all", parameters, Options.LearningRateFactor)];
    }

    public override StepResult Step(RunContext run, StepInput input) => Supervised.Step(run, input);

    public override void BeforeOptimizerStep(RunContext run)
    {
        using var _ = no_grad();
        foreach (var (w, mask) in _pairs)
            if (w.grad is { } g) g.mul_(mask);
    }

    public override void AfterOptimizerStep(RunContext run) => ApplyMasks();

    public override IReadOnlyDictionary<string, double> EpochValues(RunContext run, int epoch) =>
        new Dictionary<string, double> { [PruneOptions.SparsityMetric] = Overall(PruningMasks.Measure(run.Model)) };

    static double Overall(IReadOnlyList<LayerSparsityReport> layers)
    {
        long total = layers.Sum(l => l.Parameters);
        return total == 0 ? 0 : (double)layers.Sum(l => l.Zeros) / total;
    }

    /// <summary>Counted on the weights the test sees and the run saves.</summary>
    public override void Finish(RunContext run)
    {
        if (!run.Planning) _layers = PruningMasks.Measure(run.Model);
    }

    public override IReadOnlyDictionary<string, double> ResultValues(RunContext run)
    {
        if (_layers.Count == 0) return EmptyValues;
        var values = new Dictionary<string, double> { [PruneOptions.SparsityMetric] = Overall(_layers) };
        if (!double.IsNaN(_before)) values[PruneOptions.AccuracyBefore] = _before;
        if (!double.IsNaN(_pruned)) values[PruneOptions.AccuracyPruned] = _pruned;
        foreach (var l in _layers) values[PruneOptions.LayerPrefix + l.Key] = l.Sparsity;
        return values;
    }

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        var inv = CultureInfo.InvariantCulture;
        if (_source is not { } s) yield break;
        yield return new("Pruned run", $"run {s.RunId}: {s.Model.Id} on {s.DatasetId}" +
                                       (s.TestAccuracy is { } recorded ? $", test accuracy {recorded.ToString("P2", inv)} as its run recorded it" : ""));
        long total = _layers.Sum(l => l.Parameters), zeros = _layers.Sum(l => l.Zeros);
        yield return new("Pruning", $"magnitude, {(Options.Scope == PruneScope.Layer ? "per layer" : "global")}, target {Options.Sparsity.ToString("P1", inv)} " +
                                    $"of the {_layers.Count} conv and linear weights ({total.ToString("N0", inv)} values)");
        if (_layers.Count > 0)
        {
            yield return new("Sparsity reached", $"{Overall(_layers).ToString("P2", inv)}: {zeros.ToString("N0", inv)} of {total.ToString("N0", inv)} values are zero, counted on the saved weights");
            yield return new("Test accuracy before pruning", $"{Pct(_before)} (run {s.RunId}'s model on this test split, measured in this run)");
            yield return new("Test accuracy right after pruning", $"{Pct(_pruned)} (before the fine-tune; after it: the run's test accuracy)");
            yield return new("Sparsity per layer", string.Join("; ", _layers.Select(l => $"{l.Key} {l.Sparsity.ToString("P1", inv)} of {l.Parameters.ToString("N0", inv)}")));
        }
        yield return new("Fine-tune", Options.FineTuneEpochs == 0 ? "none: the pruned model is tested and saved as it is"
            : $"{Options.FineTuneEpochs} epoch(s) of every parameter at {Options.LearningRateFactor.ToString("G3", inv)} × the run's learning rate, " +
              "the pruned weights' gradients zeroed before each optimiser step and the weights zeroed after it");
        yield return new("File", "F32 safetensors of the same size as the source run's: the zeros are stored densely, and run no faster here");
    }

    static string Pct(double v) => double.IsNaN(v) ? "not measured (no test split)" : v.ToString("P2", CultureInfo.InvariantCulture);

    public override void Dispose()
    {
        _masks?.Dispose();
        base.Dispose();
    }
}
