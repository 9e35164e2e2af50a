using System.Globalization;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Multitask learning: one backbone, task 1 on the model's own classifier, tasks 2 to 4 on <see cref="TaskHeads"/>.
/// Each step takes one batch stream per task (sized by the sampling rule), passes every task's batch through the
/// backbone, and sums the weighted cross-entropies (fixed weights, or Kendall et al.'s learnt uncertainty).
/// </summary>
public sealed class MultitaskStrategy : TrainingStrategy<MultitaskOptions>
{
    TaskHeads? _heads;
    LogVariances? _uncertainty;
    int[] _batch = [];
    double[] _lastValidation = [];

    public override IEnumerable<(string Name, nn.Module Module)> ExtraModules =>
        _heads is null ? [] : _uncertainty is null ? [("heads", _heads)] : [("heads", (nn.Module)_heads), ("uncertainty", _uncertainty)];

    public override IEnumerable<(string Prefix, nn.Module Module)> SavedModules => _heads is null ? [] : [("tasks", _heads)];

    public TaskHeads Heads => _heads ?? throw new InvalidOperationException("Setup has not run.");

    public override void Setup(RunContext run)
    {
        if (run.Tasks.Count < 2) throw new InvalidOperationException("A multitask run needs at least two datasets.");
        if (!run.Planning)
            foreach (var task in run.Tasks)
                if (task.Train.Length == 0) throw new InvalidOperationException($"Task dataset '{task.DatasetId}' has no training examples to learn from.");
        _heads = TaskHeads.For(run, 0x7A5C);
        if (Options.LossWeighting == TaskLossWeighting.Uncertainty)
        {
            // Zeros, not random: built directly in a plan (no reseeding of the generator a training run may use).
            _uncertainty = run.Planning ? new LogVariances(run.Tasks.Count) : TorchRuntime.BuildSeeded(0, () => new LogVariances(run.Tasks.Count));
            _uncertainty.to(run.Device);
        }
        _batch = Options.BatchSizes(run.Training.BatchSize, run.Tasks.Select(t => t.Train.Length).ToList());
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        foreach (var p in run.Model.parameters()) p.requires_grad = true;
        var groups = new List<ParameterGroupSpec>(LayerwiseLearningRates.Groups(run.Model, run.Model.StageNames, Options.LayerwiseDecay))
        {
            new("task-heads", Heads.parameters().ToList()),
        };
        // No weight decay question here: AdamW decays weights only, and the log-variances are one vector per run.
        if (_uncertainty is not null) groups.Add(new("loss-weights", _uncertainty.parameters().ToList()));
        return groups;
    }

    public override void BeginEpoch(RunContext run, int epoch)
    {
        run.Model.train();
        Heads.train();
    }

    public override IReadOnlyList<BatchStream> Streams(RunContext run) =>
        run.Tasks.Select((t, i) => BatchStream.Of(run, t, i == 0 ? BatchStream.LabelledName : $"task{i + 1}", _batch[i])).ToList();

    public override StepResult Step(RunContext run, StepInput input)
    {
        var values = new Dictionary<string, double>();
        Tensor? total = null;
        Tensor? firstLogits = null;
        for (int i = 0; i < run.Tasks.Count; i++)
        {
            var batch = i == 0 ? input.Batch : input.Others[$"task{i + 1}"];
            var logits = Heads.Predict(run.Model, i, batch.X);
            // Task 1 takes the run's loss (smoothing, class weights); the others plain cross-entropy with the same smoothing.
            var loss = i == 0 ? run.CrossEntropy(logits, batch.Y)
                : nn.functional.cross_entropy(logits, batch.Y, label_smoothing: run.Training.LabelSmoothing);
            Tensor weighted;
            double weight;
            if (_uncertainty is { } u)
            {
                var s = u.LogVariance[i];
                weighted = loss * (-s).exp() + s * 0.5;
                weight = Math.Exp(-s.item<float>());
            }
            else
            {
                weight = Options.Weights[i];
                weighted = loss * weight;
            }
            total = total is null ? weighted : total + weighted;
            values[$"task{i + 1}_loss"] = loss.item<float>();
            values[$"task{i + 1}_weight"] = weight;
            if (i == 0) firstLogits = logits;
        }
        return new StepResult(total!, firstLogits, values);
    }

    /// <summary>Every task's validation accuracy with its own head; their mean chooses the tested epoch, so no task's
    /// scale dominates the choice.</summary>
    public override double ValidationScore(RunContext run, int epoch, EvaluationResult validation)
    {
        _lastValidation = run.Tasks.Select((task, i) => i == 0 ? validation.Accuracy
            : Evaluator.Run(run, this, EvaluationSet.Of(task, task.Validation, b => Heads.Predict(run.Model, i, b.X))).Accuracy).ToArray();
        return _lastValidation.Average();
    }

    public override IReadOnlyDictionary<string, double> EpochValues(RunContext run, int epoch) =>
        _lastValidation.Select((a, i) => (a, i)).ToDictionary(x => $"task{x.i + 1}_val_acc", x => x.a);

    public override IReadOnlyList<TaskResult> TaskResults(RunContext run) => Heads.Results(run, this);

    public override int[] ExamplesLearntFrom(RunContext run) => run.TrainIndices;

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        yield return new("Tasks", string.Join("; ", run.Tasks.Select((t, i) =>
            $"{i + 1}: {t.DatasetId} ({t.Classes} classes, {t.Train.Length} training examples, {_batch.ElementAtOrDefault(i)} per batch)")));
        yield return new("Loss weighting", Options.LossWeighting == TaskLossWeighting.Uncertainty
            ? "learnt (uncertainty weighting); final weights " + string.Join(", ", _uncertainty!.LogVariance.detach().cpu().data<float>().ToArray()
                .Select((s, i) => $"task {i + 1} {Math.Exp(-s).ToString("0.###", CultureInfo.InvariantCulture)}"))
            : "fixed: " + string.Join(", ", Options.Weights.Take(run.Tasks.Count).Select((w, i) => $"task {i + 1} × {w.ToString("0.###", CultureInfo.InvariantCulture)}")));
        yield return new("Model selection", "the epoch with the best mean validation accuracy over the tasks");
        yield return new("Learning rates", PartialFineTuneStrategy.Rates(run.Model, run.Model.StageNames, Options.LayerwiseDecay, run.Training.LearningRate) +
                                           "; task heads at the base rate");
    }

    public override void Dispose()
    {
        _heads?.Dispose();
        _uncertainty?.Dispose();
        base.Dispose();
    }

    /// <summary>Kendall et al.'s per-task log-variances s_i, starting at 0 (weight 1). Field name is its checkpoint key.</summary>
    sealed class LogVariances : nn.Module
    {
        private readonly Parameter log_variance;

        public LogVariances(int tasks) : base(nameof(LogVariances))
        {
            log_variance = nn.Parameter(zeros(tasks, device: TorchRuntime.BuildDevice));
            RegisterComponents();
        }

        public Parameter LogVariance => log_variance;
    }
}
