using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// One transfer strategy's behaviour on the shared <see cref="TrainingLoop"/>. The loop owns epochs, schedules,
/// checkpoints and resume, cancellation, evaluation and events; a strategy supplies what learns (parameter groups,
/// BatchNorm modes), its step over one or several named batch streams, extra modules and losses, and what it
/// evaluates. Strategies never ask which architecture they hold: only the uniform <see cref="ZooModel"/> API.
/// <para>Its description and options live in Core (<see cref="StrategyInfo"/>, the options record); registration
/// (<see cref="StrategyRegistry"/>) ties the two. A new instance serves one run.</para>
/// </summary>
public abstract class TrainingStrategy : IDisposable
{
    /// <summary>The run's options (its options record), set before <see cref="Setup"/>.</summary>
    public StrategyOptions Options { get; internal set; } = default!;

    /// <summary>False for the scratch baseline: the model keeps its random initialisation.</summary>
    public virtual bool LoadsPretrainedWeights => true;

    /// <summary>Which weights the test split sees; domain adaptation must not choose with the target's labels.</summary>
    public virtual ModelSelection Selection => ModelSelection.BestValidation;

    /// <summary>After the step's backward pass, before gradient clipping and the optimiser step: a strategy that holds
    /// some weights fixed (pruning's zeros) clears their gradients here, so neither the clipping norm nor the optimiser's
    /// momentum sees them.</summary>
    public virtual void BeforeOptimizerStep(RunContext run) { }

    /// <summary>After each optimiser step: a strategy that constrains weights puts them back here (pruning sets its
    /// zeros again, whatever weight decay or momentum did).</summary>
    public virtual void AfterOptimizerStep(RunContext run) { }

    /// <summary>Once, after the model is built, its weights loaded and its head reset to the dataset's classes:
    /// freeze what must not learn, build extra modules, run passes over the data (a feature cache).</summary>
    public virtual void Setup(RunContext run) { }

    /// <summary>What the optimiser updates, each group with a multiplier of the base learning rate. Empty: the
    /// strategy trains nothing by gradient steps, and the loop goes straight to <see cref="Finish"/>.</summary>
    public abstract IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run);

    /// <summary>Before each epoch: train/eval modes (frozen BatchNorm stays in eval), unfreezing.</summary>
    public virtual void BeginEpoch(RunContext run, int epoch) => run.Model.train();

    /// <summary>The batch streams of an epoch; the first one is labelled and sets the epoch's length, the others
    /// cycle alongside it.</summary>
    public virtual IReadOnlyList<BatchStream> Streams(RunContext run) => [BatchStream.Labelled(run)];

    /// <summary>The streams of one epoch: the same every epoch unless the strategy changes data between epochs
    /// (continual learning trains one task after another). Called before training for every epoch, to count the
    /// steps the schedule spans, so it must only describe streams, not build anything.</summary>
    public virtual IReadOnlyList<BatchStream> Streams(RunContext run, int epoch) => Streams(run);

    /// <summary>How many epochs the loop runs: the run's epochs, or a multiple for strategies that train several
    /// tasks in turn.</summary>
    public virtual int Epochs(RunContext run) => run.Training.Epochs;

    /// <summary>One training step's forward pass and loss; the loop does backward, clipping and the optimiser step.</summary>
    public abstract StepResult Step(RunContext run, StepInput input);

    /// <summary>Logits for an evaluation batch (called in eval mode under no_grad).</summary>
    public virtual Tensor Predict(RunContext run, TrainingBatch batch) => run.Model.call(batch.X);

    /// <summary>Where the validation and test batches come from; default: the labelled dataset's stored splits.</summary>
    public virtual EvaluationSet Evaluation(RunContext run, Core.Datasets.DatasetSplit split) =>
        new(run.Data, split == Core.Datasets.DatasetSplit.Validation ? run.ValidationIndices : run.TestIndices);

    /// <summary>The number model selection and early stopping compare between epochs: the validation accuracy of
    /// <see cref="Evaluation"/>'s set by default; a strategy with several tasks may combine them (their mean).</summary>
    public virtual double ValidationScore(RunContext run, int epoch, EvaluationResult validation) => validation.Accuracy;

    /// <summary>Values the strategy adds to each epoch's event (a target domain's accuracy, say).</summary>
    public virtual IReadOnlyDictionary<string, double> EpochValues(RunContext run, int epoch) => EmptyValues;

    /// <summary>After training (and after the best epoch's weights are back), before the test evaluation.</summary>
    public virtual void Finish(RunContext run) { }

    /// <summary>The labelled training examples the strategy learnt from, which the run records and its card counts:
    /// the run's training examples (after the label budget), or fewer where the strategy uses only some of them
    /// (a few-shot support set).</summary>
    public virtual int[] ExamplesLearntFrom(RunContext run) => run.TrainIndices;

    /// <summary>Lines for the run's record and card (frozen stages, support set, cache reuse).</summary>
    public virtual IEnumerable<StrategyFact> Facts(RunContext run) => [];

    /// <summary>Modules besides the model that train and belong in checkpoints (a domain classifier).</summary>
    public virtual IEnumerable<(string Name, nn.Module Module)> ExtraModules => [];

    /// <summary>Modules saved in the run's weights file beside the model, under <c>Prefix.</c> (the further tasks'
    /// heads); not a domain classifier, which serves training only.</summary>
    public virtual IEnumerable<(string Prefix, nn.Module Module)> SavedModules => [];

    /// <summary>Each task's test result, for runs with several tasks (after <see cref="Finish"/>, with the weights the
    /// test sees); empty for single-task runs.</summary>
    public virtual IReadOnlyList<TaskResult> TaskResults(RunContext run) => [];

    /// <summary>Continual learning's accuracy matrix, when the strategy measures one.</summary>
    public virtual AccuracyMatrix? TaskMatrix(RunContext run) => null;

    /// <summary>For a strategy that learns from another run's model (distillation): that teacher measured beside the
    /// run's model (after <see cref="Finish"/>); null otherwise.</summary>
    public virtual TeacherComparison? TeacherResult(RunContext run) => null;

    /// <summary>Named values measured once for the whole run (after <see cref="Finish"/>), stored as
    /// <see cref="RunResult.Values"/>; name them in the options record's <see cref="StrategyInfo.Metrics"/>.</summary>
    public virtual IReadOnlyDictionary<string, double> ResultValues(RunContext run) => EmptyValues;

    public virtual void Dispose() { GC.SuppressFinalize(this); }

    protected static readonly IReadOnlyDictionary<string, double> EmptyValues = new Dictionary<string, double>();
}

/// <summary>A strategy with its typed options record.</summary>
public abstract class TrainingStrategy<TOptions> : TrainingStrategy where TOptions : StrategyOptions
{
    public new TOptions Options => (TOptions)base.Options;
}

/// <summary>A parameter group: its name (a stage), parameters, and learning rate as a multiple of the base rate.</summary>
public sealed record ParameterGroupSpec(string Name, IReadOnlyList<Parameter> Parameters, double LearningRateScale = 1.0);

/// <summary>A stream of training batches: a batch source and the examples it draws from.</summary>
/// <param name="Augment">Apply the run's augmentations (image sources only).</param>
/// <param name="BatchSize">This stream's batch size; null: the run's (multitask draws each task's share of a step).</param>
/// <param name="Labels">The labels of the stream's dataset, for the class-balanced sampler; null: the run's dataset's.</param>
public sealed record BatchStream(string Name, IBatchSource Source, int[] Indices, bool Augment, int? BatchSize = null, int[]? Labels = null)
{
    public const string LabelledName = "labelled";

    /// <summary>Batches per epoch when the source decides them (one episode per step), instead of the indices
    /// divided by the run's batch size. Only the first stream's counts: it sets the epoch's length.</summary>
    public int? BatchesPerEpoch { get; init; }

    /// <summary>The labelled dataset's training examples (after the label budget), augmented as the run says.</summary>
    public static BatchStream Labelled(RunContext run) => new(LabelledName, run.Data, run.TrainIndices, run.Training.Augment);

    /// <summary>A task's training examples, augmented as the run says.</summary>
    public static BatchStream Of(RunContext run, TaskData task, string name, int? batchSize = null) =>
        new(name, task.Source, task.Train, run.Training.Augment, batchSize, task.Labels);
}

/// <summary>Batches of one step: the first stream's, and the others' by name.</summary>
/// <param name="Progress">Share of all training steps done before this one, 0 to 1 (schedules such as DANN's λ).</param>
public sealed record StepInput(TrainingBatch Batch, IReadOnlyDictionary<string, TrainingBatch> Others, int Epoch, int GlobalStep, int TotalSteps, double Progress);

/// <summary>A step's loss (a scalar with a graph) and, when there are any, the labelled batch's logits for the
/// training accuracy and the strategy's own values by name.</summary>
public sealed record StepResult(Tensor Loss, Tensor? Logits, IReadOnlyDictionary<string, double>? Values = null);

/// <summary>Evaluation batches: a source and the examples to evaluate, with their labels.</summary>
/// <param name="Classes">The number of classes the labels range over; null: the run's.</param>
/// <param name="Predict">The logits of a batch; null: the strategy's <see cref="TrainingStrategy.Predict"/> (a task's own
/// head, for runs with several).</param>
public sealed record EvaluationSet(IBatchSource Source, int[] Indices, int? Classes = null, Func<TrainingBatch, Tensor>? Predict = null)
{
    /// <summary>A task's split, predicted by its own head.</summary>
    public static EvaluationSet Of(TaskData task, int[] indices, Func<TrainingBatch, Tensor> predict) => new(task.Source, indices, task.Classes, predict);
}
