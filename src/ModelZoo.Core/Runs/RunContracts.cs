using System.Text.Json.Nodes;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Runs;

public enum RunStatus { Queued, Running, Succeeded, Failed, Cancelled }

public static class RunStatusExtensions
{
    public static bool IsTerminal(this RunStatus s) => s is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;
}

/// <summary>The shared training loop's settings, the same for every strategy (a strategy's own settings are its
/// options record, <c>RunRequest.Options</c>). Defaults are what a first run should use.</summary>
public sealed record HyperParameters
{
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 64;
    /// <summary>The base rate: the head's, and the body's before any layer-wise decay.</summary>
    public double LearningRate { get; init; } = 1e-3;
    public int Seed { get; init; } = 42;
    /// <summary>Side of the square input fed to the model; 0: the model's own input size (its manifest's).</summary>
    public int ImageSize { get; init; }
    /// <summary>Seeded training augmentations (random resized crop, flips where allowed, small rotation, colour
    /// jitter), as <see cref="Augmentation"/> or the dataset's profile says. Validation and test never augment.</summary>
    public bool Augment { get; init; } = true;
    /// <summary>The run's own augmentation profile; null: the dataset's (shown and editable on its page).</summary>
    public AugmentationProfile? Augmentation { get; init; }
    /// <summary>Longest text in tokens for text models ([CLS] and [SEP] included); the model's own limit caps it.
    /// Batches are padded only to their longest text.</summary>
    public int MaxTokens { get; init; } = 128;
    /// <summary>Use at most this many training examples (0 = all): quick trials on a slow machine.</summary>
    public int TrainLimit { get; init; }
    /// <summary>Label budget: at most this many labelled training examples per class, drawn stratified with the
    /// seed and recorded in the run (0 = every label). Small-target studies in one setting.</summary>
    public int? LabelsPerClass { get; init; }

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;
    /// <summary>Decoupled weight decay (AdamW) or L2 (SGD) on weights only, never on norms and biases; null: the
    /// optimiser's usual value (<see cref="DefaultWeightDecay"/>).</summary>
    public double? WeightDecay { get; init; }
    /// <summary>SGD's momentum.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>SGD with Nesterov momentum.</summary>
    public bool Nesterov { get; init; }
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.WarmupCosine;
    /// <summary>Share of all steps spent warming up linearly from 0 (warmup-cosine), or rising to the peak (one-cycle).</summary>
    public double WarmupFraction { get; init; } = 0.05;
    /// <summary>Cross-entropy label smoothing (0 = off).</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>Clip the gradients' global L2 norm to this (0 = off).</summary>
    public double GradientClipNorm { get; init; }
    /// <summary>Stop when validation accuracy has not improved for this many epochs (0 = train every epoch).</summary>
    public int EarlyStoppingPatience { get; init; }
    /// <summary>For imbalanced data: weight the loss or the sampler by inverse class frequency.</summary>
    public ClassBalance ClassBalance { get; init; } = ClassBalance.None;

    /// <summary>AdamW's and PyTorch's default 0.01; SGD's usual 5e-4 (torchvision's reference recipes use 1e-4).</summary>
    public double DefaultWeightDecay => Optimizer == OptimizerKind.AdamW ? 0.01 : 5e-4;
    public double EffectiveWeightDecay => WeightDecay ?? DefaultWeightDecay;
}

public enum OptimizerKind { AdamW, Sgd }

public enum LearningRateSchedule
{
    /// <summary>Linear warmup, then cosine decay to zero (timm's and Hugging Face's default).</summary>
    WarmupCosine,
    /// <summary>Smith's one-cycle (fastai's fit_one_cycle): cosine up from peak/25 to the peak, then down to peak/1e4.</summary>
    OneCycle,
    /// <summary>The base rate throughout.</summary>
    Constant,
}

public enum ClassBalance
{
    None,
    /// <summary>Cross-entropy weighted by inverse class frequency (mean weight 1).</summary>
    WeightedLoss,
    /// <summary>Each epoch draws its examples with replacement, every class equally likely.</summary>
    WeightedSampler,
}

/// <summary>What a user asks for when launching a run (UI and REST API alike).</summary>
public sealed record RunRequest
{
    public string ModelId { get; init; } = "";
    /// <summary>The labelled dataset (the source, for domain adaptation).</summary>
    public string DatasetId { get; init; } = "";
    /// <summary>For strategies that adapt to another domain: the target, whose training split is used without its
    /// labels; its validation and test labels serve evaluation only.</summary>
    public string? TargetDatasetId { get; init; }
    /// <summary>For strategies with several tasks (<see cref="Strategies.StrategyInfo.TaskDatasets"/>): the further
    /// labelled datasets, each a task with its own head, in order. <see cref="DatasetId"/> is the first task; for
    /// continual learning this list is the order the later tasks are learnt in.</summary>
    public IReadOnlyList<string>? TaskDatasetIds { get; init; }
    /// <summary>For strategies that start from, or learn from, another run's trained model
    /// (<see cref="Strategies.StrategyInfo.SourceRun"/>): that run, which must have succeeded (the teacher of
    /// distillation).</summary>
    public Guid? SourceRunId { get; init; }
    /// <summary>A strategy id from <c>GET /api/strategies</c>.</summary>
    public string Strategy { get; init; } = "feature-extraction";
    /// <summary>The strategy's own options by name; left out: their defaults.</summary>
    public JsonObject? Options { get; init; }
    public HyperParameters HyperParameters { get; init; } = new();
    public string? Name { get; init; }
    /// <summary>This run is the scratch baseline of that run (same data, budget and seed).</summary>
    public Guid? BaselineFor { get; init; }
}

/// <summary>Results a finished run stores and its model card quotes.</summary>
public sealed record RunResult
{
    public double TestAccuracy { get; init; }
    public double TestLoss { get; init; }
    public double BestValAccuracy { get; init; }
    public int BestEpoch { get; init; }
    public int TestExamples { get; init; }
    public int TrainExamples { get; init; }
    public int ValExamples { get; init; }
    public IReadOnlyList<string> ClassNames { get; init; } = [];
    public IReadOnlyList<double> PerClassAccuracy { get; init; } = [];
    /// <summary>Row = true class, column = predicted class.</summary>
    public IReadOnlyList<IReadOnlyList<int>> ConfusionMatrix { get; init; } = [];
    public double TrainSeconds { get; init; }
    public long TotalParameters { get; init; }
    public long TrainableParameters { get; init; }
    /// <summary>The architecture the run trained: the entry's own, or the classifier that shares its backbone (a
    /// masked-LM entry trains <c>bert</c>). Null in results stored before this was recorded.</summary>
    public string? TrainedArchitecture { get; init; }
    /// <summary>What loading the starting weights did (tensors copied, head or pooler initialised fresh, keys not
    /// used), as the importer reported it; empty when the run started from random weights.</summary>
    public IReadOnlyList<string> WeightsNotes { get; init; } = [];
    /// <summary>The fine-tuned model the run saved; null when it saved none (results stored before runs saved
    /// their weights).</summary>
    public TrainedWeights? TrainedWeights { get; init; }

    /// <summary>Unweighted mean of the per-class F1 scores on the test split.</summary>
    public double MacroF1 { get; init; }
    /// <summary>Precision, recall, F1 and support per class on the test split, in <see cref="ClassNames"/> order.</summary>
    public IReadOnlyList<ClassScores> PerClass { get; init; } = [];
    /// <summary>Expected calibration error and the reliability diagram's bins on the test split; null for results
    /// stored before it was measured.</summary>
    public Calibration? Calibration { get; init; }
    /// <summary>Which weights were evaluated on the test split: the best validation epoch's, or the last epoch's.</summary>
    public ModelSelection Selection { get; init; } = ModelSelection.BestValidation;
    /// <summary>The epoch early stopping ended the run at; null when it trained every epoch.</summary>
    public int? StoppedAtEpoch { get; init; }
    /// <summary>Training examples per class the run used (after the label budget and training limit).</summary>
    public IReadOnlyList<int> TrainExamplesPerClass { get; init; } = [];
    /// <summary>What the strategy did that a reader of the card needs (frozen stages, support set, cache reuse),
    /// each as a label and a value.</summary>
    public IReadOnlyList<StrategyFact> StrategyFacts { get; init; } = [];
    /// <summary>Training examples per second over the whole run's steps (data waits included, evaluation excluded).</summary>
    public double ExamplesPerSecond { get; init; }
    /// <summary>The epochs the run resumed after (a checkpoint of that epoch), in order; empty when it never stopped.</summary>
    public IReadOnlyList<int> ResumedAfterEpochs { get; init; } = [];
    /// <summary>The dataset's texts found word for word in the starting weights' pretraining corpus, per split; null
    /// when the model records no corpus (or the run started from no pretrained weights, or the data is not text).</summary>
    public Text.PretrainingOverlap? PretrainingOverlap { get; init; }
    /// <summary>Each task's test result, for runs with several tasks (multitask, continual learning), the run's own
    /// dataset first; empty for single-task runs, whose result is the fields above.</summary>
    public IReadOnlyList<TaskResult> Tasks { get; init; } = [];
    /// <summary>Continual learning's accuracy matrix; null for other runs.</summary>
    public AccuracyMatrix? TaskMatrix { get; init; }
    /// <summary>For a run that learnt from a teacher (distillation): the teacher measured beside the student in this
    /// run; null for other runs. The student's own figures are this result's (accuracy, parameters, weights file).</summary>
    public TeacherComparison? Teacher { get; init; }
    /// <summary>Named values the strategy measured once for the whole run rather than per step or epoch (pruning's
    /// sparsity counted on the saved weights and the accuracies before and right after pruning), named as its
    /// <see cref="Strategies.StrategyInfo.Metrics"/> describe them; empty for most strategies.</summary>
    public IReadOnlyDictionary<string, double> Values { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// A distillation's teacher against its student, measured by the student's run: the teacher's accuracy on the same
/// test split, its size, and both models' latency in the same measurement (batch 1, interleaved, median).
/// </summary>
public sealed record TeacherComparison
{
    public Guid TeacherRunId { get; init; }
    public string TeacherModelId { get; init; } = "";
    public string TeacherArchitecture { get; init; } = "";
    /// <summary>The teacher's accuracy on this run's test split, measured in this run (the same examples as the student's).</summary>
    public double TeacherTestAccuracy { get; init; }
    /// <summary>The teacher run's own recorded test accuracy; null when unknown.</summary>
    public double? TeacherRecordedTestAccuracy { get; init; }
    public long TeacherParameters { get; init; }
    public long StudentParameters { get; init; }
    /// <summary>Size of the teacher run's weights file (F32 safetensors).</summary>
    public long TeacherWeightsBytes { get; init; }
    /// <summary>F32 bytes of the student's parameters and buffers, as its weights file stores them (the file itself adds
    /// a header of a few kilobytes; the run's <see cref="RunResult.TrainedWeights"/> gives the file's exact size).</summary>
    public long StudentTensorBytes { get; init; }
    /// <summary>Median milliseconds of one forward pass at batch 1, each model measured in the same loop, alternating.</summary>
    public double TeacherLatencyMs { get; init; }
    public double StudentLatencyMs { get; init; }
    public int LatencyRepeats { get; init; }
    /// <summary>Where the latency was measured (CPU and its thread count).</summary>
    public string LatencyDevice { get; init; } = "";
    /// <summary>The share of test examples on which student and teacher predict the same class.</summary>
    public double Agreement { get; init; }
}

/// <summary>One task's result in a run with several tasks: its dataset, its head's test accuracy and macro-F1.</summary>
public sealed record TaskResult(string DatasetId, double TestAccuracy, double MacroF1, int TestExamples, int TrainExamples,
    IReadOnlyList<string> ClassNames)
{
    /// <summary>The task's best (or final, as the run selects) validation accuracy; NaN when not measured.</summary>
    public double ValAccuracy { get; init; } = double.NaN;
}

/// <summary>
/// Test accuracy on task i after training task j (<c>Accuracy[j][i]</c>; tasks in training order, null where task
/// i was not measured), as continual learning reports it (Lopez-Paz and Ranzato 2017; Chaudhry et al. 2018).
/// </summary>
public sealed record AccuracyMatrix(IReadOnlyList<string> Tasks, IReadOnlyList<IReadOnlyList<double?>> Accuracy)
{
    /// <summary>Mean over the tasks before the last of (best accuracy on the task after any earlier step) minus
    /// (its accuracy at the end): how much was forgotten (Chaudhry et al. 2018). Null with fewer than two rows.</summary>
    public double? AverageForgetting
    {
        get
        {
            var rows = Accuracy.Count;
            if (rows < 2) return null;
            var last = Accuracy[rows - 1];
            var drops = new List<double>();
            for (int i = 0; i < rows - 1 && i < last.Count; i++)
            {
                var earlier = Enumerable.Range(i, rows - 1 - i).Select(j => Accuracy[j].ElementAtOrDefault(i)).Where(a => a is not null).Select(a => a!.Value).ToList();
                if (earlier.Count > 0 && last[i] is { } end) drops.Add(earlier.Max() - end);
            }
            return drops.Count == 0 ? null : drops.Average();
        }
    }

    /// <summary>Mean accuracy over all tasks after the last one was learnt.</summary>
    public double? FinalAverage => Accuracy.Count == 0 || Accuracy[^1].Any(a => a is null) ? null : Accuracy[^1].Average(a => a!.Value);
}

/// <summary>One line a strategy adds to its run's record and card.</summary>
public sealed record StrategyFact(string Label, string Value);

public enum ModelSelection
{
    /// <summary>The epoch with the best validation accuracy on the labelled dataset's validation split.</summary>
    BestValidation,
    /// <summary>The last epoch (no selection; domain adaptation, where the target's labels may not choose).</summary>
    LastEpoch,
    /// <summary>Nothing was trained by gradient steps (prototypes, re-estimated statistics).</summary>
    NoTraining,
}

/// <summary>
/// The weights file a succeeded run leaves: the trained model's whole state_dict (backbone and the run's new head,
/// under the reference key names) as F32 safetensors. Hash and size are recorded when it is written, so the card can
/// name them and a downloaded copy can be checked against the card.
/// </summary>
/// <param name="File">The file's name, in the run's folder and as downloaded.</param>
public sealed record TrainedWeights(string File, string Sha256, long Bytes);

/// <summary>A run as the UI and the REST API show it.</summary>
public sealed record RunView
{
    public Guid Id { get; init; }
    public string? Name { get; init; }
    public string ModelId { get; init; } = "";
    public string DatasetId { get; init; } = "";
    /// <summary>The strategy's id (an older stored name is resolved to the id).</summary>
    public string Strategy { get; init; } = "";
    public RunStatus Status { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Device { get; init; }
    public string? Error { get; init; }
    public bool CancelRequested { get; init; }
    public RunRequest Request { get; init; } = new();
    public RunResult? Result { get; init; }
    public string? CardMarkdown { get; init; }
    /// <summary>1 = next to start; null when not queued.</summary>
    public int? QueuePosition { get; init; }
    public string? TargetDatasetId { get; init; }
    /// <summary>The run this one is the scratch baseline of.</summary>
    public Guid? BaselineFor { get; init; }
    /// <summary>The experiment (grid or transferability sweep) this run belongs to.</summary>
    public Guid? ExperimentId { get; init; }
    /// <summary>How often the run resumed from its checkpoint after the portal stopped.</summary>
    public int Resumes { get; init; }
    /// <summary>The account that launched it; null when nobody owns it (launched before accounts, or with them off).</summary>
    public string? OwnerId { get; init; }
}
