using System.Globalization;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Self-training with pseudo-labels: partial fine-tuning at the chosen depth on the labelled examples, plus, after the
/// labelled-only epochs, a second stream of the run's unlabelled training examples whose targets are the model's own
/// confident predictions, refreshed every few epochs. The unlabelled stream goes through <see cref="IndexLabelledSource"/>,
/// so this class sees example indices where the labels would be, and never a label of those examples.
/// </summary>
public sealed class SelfTrainingStrategy : TrainingStrategy<SelfTrainingOptions>
{
    public const string PseudoStream = "pseudo-labelled";

    IReadOnlyList<string> _frozen = [];
    int[] _pool = [];
    PseudoLabels? _labels;
    IndexLabelledSource? _unlabelled;
    int _lastRelabel;

    /// <summary>The unlabelled examples this run may pseudo-label (a seeded draw of at most the option's number).</summary>
    public IReadOnlyList<int> Pool => _pool;

    /// <summary>Each pool example's pseudo-label, or -1 while it has none (not yet labelled, or not confident).</summary>
    public long[] CurrentLabels => _labels is null ? [] : _labels.Labels.data<long>().ToArray();

    public override void Setup(RunContext run)
    {
        _frozen = PartialFineTuneStrategy.Split(run.Model, Options.FrozenStages).Frozen;
        Supervised.Freeze(run, _frozen.ToHashSet());
        // A plan knows no examples (its index lists are empty): what freezes is all it needs.
        if (run.Planning) return;
        if (run.UnlabelledIndices.Length == 0)
            throw new InvalidOperationException("Self-training learns from the training examples the run leaves unlabelled, and this run " +
                                                "labels all of them: set a label budget (labels per class) or a training limit.");
        var order = TrainingSelection.EpochOrder(run.UnlabelledIndices, run.Training.Seed, 0, 0x5E1F);
        _pool = (Options.MaxUnlabelled > 0 && Options.MaxUnlabelled < order.Length ? order[..Options.MaxUnlabelled] : order).Order().ToArray();
        _labels = new PseudoLabels(_pool.Length);
        _unlabelled = new IndexLabelledSource(run.Data);
    }

    public override IEnumerable<(string Name, nn.Module Module)> ExtraModules => _labels is null ? [] : [("pseudo", _labels)];

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run) =>
        LayerwiseLearningRates.Groups(run.Model, PartialFineTuneStrategy.Split(run.Model, Options.FrozenStages).Trained, Options.LayerwiseDecay);

    /// <summary>Epochs 1..this train on the labelled examples alone.</summary>
    public int LabelledOnlyEpochs(int epochs) => (int)Math.Floor(epochs * Options.LabelledOnlyShare);

    /// <summary>Whether <paramref name="epoch"/> starts by pseudo-labelling: the first epoch after the labelled-only
    /// ones, and every <see cref="SelfTrainingOptions.RelabelEvery"/> epochs after it. A resumed run restores the
    /// labels of the last relabelling from its checkpoint, so it relabels exactly where an uninterrupted run does.</summary>
    public bool RelabelsAt(int epoch, int epochs)
    {
        var first = LabelledOnlyEpochs(epochs) + 1;
        return epoch >= first && (epoch - first) % Options.RelabelEvery == 0;
    }

    public override void BeginEpoch(RunContext run, int epoch)
    {
        // Pseudo-labelling is a pass over the data; the modes are the same with or without it.
        if (run.Planning) { Supervised.TrainExcept(run, _frozen); return; }
        if (RelabelsAt(epoch, run.Training.Epochs)) Relabel(run, epoch);
        // A resumed run has its labels from the checkpoint: they are the last relabelling's before this epoch.
        else if (_lastRelabel == 0 && epoch > LabelledOnlyEpochs(run.Training.Epochs))
            _lastRelabel = Enumerable.Range(1, epoch - 1).Last(e => RelabelsAt(e, run.Training.Epochs));
        Supervised.TrainExcept(run, _frozen);
    }

    /// <summary>Predicts every pool example in inference mode, without augmentation, and keeps the confident ones.</summary>
    void Relabel(RunContext run, int epoch)
    {
        run.Report($"Pseudo-labelling {_pool.Length:N0} unlabelled training examples (epoch {epoch})");
        run.Model.eval();
        var labels = new long[_pool.Length];
        var position = _pool.Select((index, i) => (index, i)).ToDictionary(p => p.index, p => p.i);
        using (no_grad())
        using (var batches = _unlabelled!.Eval(_pool, Evaluator.BatchSize, run.Cancellation))
        {
            for (int b = 0; b < batches.Count; b++)
            {
                run.Cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = batches.Next();
                var (confidence, predicted) = Predict(run, batch).softmax(1).max(1);
                var c = confidence.cpu().data<float>().ToArray();
                var p = predicted.cpu().data<long>().ToArray();
                var indices = batch.Y.data<long>().ToArray();
                for (int i = 0; i < indices.Length; i++)
                    labels[position[(int)indices[i]]] = c[i] >= Options.Threshold ? p[i] : -1;
            }
        }
        _labels!.Set(labels);
        _lastRelabel = epoch;
    }

    public override IReadOnlyList<BatchStream> Streams(RunContext run) =>
        // The pseudo-labelled stream is always augmented: the model learns from agreeing with its own confident
        // prediction across a changed view of the example, not from repeating the prediction on the view it made it on.
        [BatchStream.Labelled(run), new BatchStream(PseudoStream, _unlabelled!, _pool, Augment: true)];

    public override StepResult Step(RunContext run, StepInput input)
    {
        var logits = run.Model.call(input.Batch.X);
        var loss = run.CrossEntropy(logits, input.Batch.Y);
        double used = 0;
        if (_lastRelabel > 0 && input.Others.TryGetValue(PseudoStream, out var unlabelled))
        {
            var targets = _labels!.Of(unlabelled.Y, _pool);
            var confident = targets.ge(0);
            used = confident.sum().item<long>();
            if (used > 0)
            {
                var mask = confident.to(unlabelled.X.device);
                var pseudoLogits = run.Model.call(unlabelled.X[mask]);
                // Plain cross-entropy towards the pseudo-labels: the run's label smoothing and class weights describe
                // the labelled data, and the confidence threshold already decides which targets count.
                var pseudoLoss = nn.functional.cross_entropy(pseudoLogits, targets[confident].to(pseudoLogits.device));
                loss = loss + Options.UnlabelledWeight * pseudoLoss;
            }
        }
        return new StepResult(loss, logits, new Dictionary<string, double> { ["pseudo_labelled_in_batch"] = used });
    }

    public override IReadOnlyDictionary<string, double> EpochValues(RunContext run, int epoch)
    {
        if (_labels is null || _lastRelabel == 0) return EmptyValues;
        return new Dictionary<string, double> { ["pseudo_labelled_share"] = (double)_labels.Confident / Math.Max(1, _pool.Length) };
    }

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        var trained = PartialFineTuneStrategy.Split(run.Model, Options.FrozenStages).Trained;
        yield return new("Frozen stages", _frozen.Count == 0 ? "none (depth 0)" : $"{string.Join(", ", _frozen)} (depth {_frozen.Count} of {run.Model.StageNames.Count - 1}; BatchNorm in inference mode)");
        yield return new("Learning rates", PartialFineTuneStrategy.Rates(run.Model, trained, Options.LayerwiseDecay, run.Training.LearningRate));
        var epochs = run.Training.Epochs;
        yield return new("Unlabelled examples", $"{_pool.Length:N0} of the {run.UnlabelledIndices.Length:N0} training examples the run left unlabelled " +
            "(their labels are never read)");
        yield return new("Pseudo-labelling", $"labelled examples alone for epochs 1-{LabelledOnlyEpochs(epochs)}, then relabelled every {Options.RelabelEvery} " +
            $"epoch(s) at softmax ≥ {Options.Threshold.ToString("0.###", CultureInfo.InvariantCulture)}, unlabelled weight " +
            Options.UnlabelledWeight.ToString("0.###", CultureInfo.InvariantCulture));
        if (_labels is not null && _lastRelabel > 0)
            yield return new("Pseudo-labels at the last relabelling", $"{_labels.Confident:N0} of {_pool.Length:N0} examples confident enough (epoch {_lastRelabel})");
    }

    public override void Dispose()
    {
        _labels?.Dispose();
        base.Dispose();
    }

    /// <summary>The pool's pseudo-labels as a buffer, so a checkpoint carries them and a resumed run goes on with the
    /// labels the interrupted one had.</summary>
    sealed class PseudoLabels : nn.Module
    {
        public Tensor Labels { get; }

        public PseudoLabels(int count) : base("pseudo_labels")
        {
            Labels = full(count, -1L, dtype: ScalarType.Int64);
            register_buffer("labels", Labels);
        }

        public int Confident => (int)Labels.ge(0).sum().item<long>();

        public void Set(long[] labels)
        {
            using var _ = no_grad();
            using var t = tensor(labels);
            Labels.copy_(t);
        }

        /// <summary>The pseudo-labels of dataset examples given by index (CPU int64), -1 where there is none.</summary>
        public Tensor Of(Tensor datasetIndices, int[] pool)
        {
            var idx = datasetIndices.data<long>().ToArray();
            var positions = new long[idx.Length];
            for (int i = 0; i < idx.Length; i++) positions[i] = Array.BinarySearch(pool, (int)idx[i]);
            using var p = tensor(positions);
            return Labels.index_select(0, p);
        }
    }
}
