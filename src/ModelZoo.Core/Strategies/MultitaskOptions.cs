using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Strategies;

public enum TaskLossWeighting
{
    [Choice("Fixed: each task's loss times its weight")] Fixed,
    [Choice("Learnt: uncertainty weighting (Kendall et al. 2018)")] Uncertainty,
}

public enum TaskSampling
{
    [Choice("Equal: every task gets the same share of each batch")] Equal,
    [Choice("Proportional to each task's training examples")] Proportional,
    [Choice("Custom shares (the task shares below)")] Custom,
}

/// <summary>One shared backbone and one head per dataset, trained jointly (Caruana 1997; Kendall et al. 2018 for the
/// learnt weights). The run's dataset is task 1; <c>RunRequest.TaskDatasetIds</c> are tasks 2 to 4.</summary>
public sealed record MultitaskOptions : StrategyOptions, IStrategyDefinition<MultitaskOptions>
{
    public const int MaxTasks = 4;

    public static StrategyInfo Info { get; } = new()
    {
        Id = "multitask",
        Title = "Multitask (one backbone, a head per dataset)",
        Order = 70,
        Summary = "Two to four labelled datasets share one backbone, each with its own head, trained together in every step.",
        Explanation =
            "Multitask learning (Caruana 1997) trains one backbone for several datasets at once: each dataset is a task with its own " +
            "classifier head on the shared pooled features. Every step draws a batch from each task (the batch size is split among the " +
            "tasks by the sampling rule) and the loss is the weighted sum of the tasks' cross-entropies. With fixed weights each task's " +
            "loss is multiplied by its weight; with uncertainty weighting (Kendall, Gal & Cipolla 2018) each task i learns a log-variance " +
            "s_i and contributes exp(-s_i)·L_i + s_i/2, so a task whose loss stays high is weighted down instead of dominating, without " +
            "a weight to tune. The whole network trains, the backbone with layer-wise rates as in full fine-tuning and the heads at the " +
            "base rate. An epoch is one pass over task 1's training examples; the other tasks' batches cycle alongside. Each epoch " +
            "validates every task with its own head; the epoch with the best mean validation accuracy over the tasks is tested. The " +
            "run's test accuracy and confusion matrix are task 1's, and the card lists every task's test accuracy and macro-F1 beside " +
            "single-task runs of the same model, data and budget when they exist. Sharing helps when the tasks need similar features " +
            "(digits from two sources) and small tasks borrow strength from large ones; it hurts when the tasks compete for the " +
            "backbone's capacity (negative transfer), which the per-task comparison shows.",
        TaskDatasets = new(1, MaxTasks - 1, "Further tasks",
            "One to three more labelled datasets of the same kind (images or texts) as the run's dataset, each learnt with its own head."),
        Metrics =
        [
            .. Enumerable.Range(1, MaxTasks).Select(i => new MetricInfo($"task{i}_loss", $"Task {i} loss", PerStep: true,
                $"Task {i}'s cross-entropy on its share of the step's batch.")),
            .. Enumerable.Range(1, MaxTasks).Select(i => new MetricInfo($"task{i}_weight", $"Task {i} weight", PerStep: true,
                $"The weight of task {i}'s loss: fixed, or exp(-s) as uncertainty weighting learns it.")),
            .. Enumerable.Range(1, MaxTasks).Select(i => new MetricInfo($"task{i}_val_acc", $"Task {i} validation accuracy", PerStep: false,
                $"Task {i}'s validation accuracy with its own head.")),
        ],
    };

    [Option("Loss weighting", "How the tasks' losses are combined: fixed weights, or weights learnt from each task's uncertainty.")]
    public TaskLossWeighting LossWeighting { get; init; } = TaskLossWeighting.Fixed;

    [Option("Sampling", "How each step's batch is shared among the tasks.")]
    public TaskSampling Sampling { get; init; } = TaskSampling.Equal;

    [Option("Task 1 weight", "With fixed weighting: the multiple of task 1's loss (the run's dataset).", Min = 0, Max = 100)]
    public double Task1Weight { get; init; } = 1;
    [Option("Task 2 weight", "With fixed weighting: the multiple of task 2's loss.", Min = 0, Max = 100)]
    public double Task2Weight { get; init; } = 1;
    [Option("Task 3 weight", "With fixed weighting: the multiple of task 3's loss (when the run has a third task).", Min = 0, Max = 100)]
    public double Task3Weight { get; init; } = 1;
    [Option("Task 4 weight", "With fixed weighting: the multiple of task 4's loss (when the run has a fourth task).", Min = 0, Max = 100)]
    public double Task4Weight { get; init; } = 1;

    [Option("Task 1 share", "With custom sampling: task 1's relative share of each batch.", Min = 0.01, Max = 100)]
    public double Task1Share { get; init; } = 1;
    [Option("Task 2 share", "With custom sampling: task 2's relative share of each batch.", Min = 0.01, Max = 100)]
    public double Task2Share { get; init; } = 1;
    [Option("Task 3 share", "With custom sampling: task 3's relative share of each batch.", Min = 0.01, Max = 100)]
    public double Task3Share { get; init; } = 1;
    [Option("Task 4 share", "With custom sampling: task 4's relative share of each batch.", Min = 0.01, Max = 100)]
    public double Task4Share { get; init; } = 1;

    [Option("Layer-wise decay", "Each earlier backbone stage learns at this multiple of the next stage's rate (1: one rate for all).", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 0.7;

    public double[] Weights => [Task1Weight, Task2Weight, Task3Weight, Task4Weight];
    public double[] Shares => [Task1Share, Task2Share, Task3Share, Task4Share];

    /// <summary>Each task's number of examples in a step's batch: at least one each, summing to the batch size.</summary>
    public int[] BatchSizes(int batchSize, IReadOnlyList<int> trainExamples)
    {
        int n = trainExamples.Count;
        double[] share = Sampling switch
        {
            TaskSampling.Proportional => trainExamples.Select(c => (double)Math.Max(1, c)).ToArray(),
            TaskSampling.Custom => Shares.Take(n).ToArray(),
            _ => Enumerable.Repeat(1.0, n).ToArray(),
        };
        var total = share.Sum();
        var sizes = share.Select(s => Math.Max(1, (int)Math.Floor(batchSize * s / total))).ToArray();
        // Hand what rounding left over to the tasks with the largest shares, so the sizes add up to the batch size.
        for (int k = 0; sizes.Sum() < batchSize; k++) sizes[share.Select((s, i) => (s, i)).OrderByDescending(x => x.s).ElementAt(k % n).i]++;
        return sizes;
    }

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        int n = context.Tasks.Count + 1;
        var names = new[] { "task1", "task2", "task3", "task4" };
        for (int i = n; i < MaxTasks; i++)
        {
            if (Weights[i] != 1) yield return OptionProblem.Option($"{names[i]}Weight", $"The run has {n} tasks, so task {i + 1} has no loss to weight; leave its weight at 1.");
            if (Shares[i] != 1) yield return OptionProblem.Option($"{names[i]}Share", $"The run has {n} tasks, so task {i + 1} has no batch share; leave it at 1.");
        }
        if (LossWeighting == TaskLossWeighting.Fixed && Weights.Take(n).All(w => w == 0))
            yield return OptionProblem.Option("task1Weight", "At least one task's weight must be above 0, or nothing learns.");
        if (context.Training.BatchSize < n)
            yield return new OptionProblem("HyperParameters.BatchSize", $"The batch is shared among {n} tasks: it needs at least {n} examples (it is {context.Training.BatchSize}).");
        foreach (var task in context.Tasks)
            if (task.ClassNames.Count < 2)
                yield return new OptionProblem("TaskDatasetIds", $"Task dataset '{task.Id}' has {task.ClassNames.Count} class; a classification task needs at least 2.");
    }
}
