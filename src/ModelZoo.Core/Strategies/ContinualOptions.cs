using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Strategies;

public enum ContinualMethod
{
    [Choice("Plain fine-tuning (the baseline that forgets)")] FineTune,
    [Choice("Learning without Forgetting (distil the old heads)")] LwF,
    [Choice("Elastic weight consolidation (Fisher-weighted penalty)")] Ewc,
}

/// <summary>Task-incremental continual learning: tasks in sequence on one backbone, a head per task, with plain
/// fine-tuning, Learning without Forgetting (Li &amp; Hoiem 2016) or EWC (Kirkpatrick et al. 2017).</summary>
public sealed record ContinualOptions : StrategyOptions, IStrategyDefinition<ContinualOptions>
{
    public const int MaxTasks = 4;

    public static StrategyInfo Info { get; } = new()
    {
        Id = "continual",
        Title = "Continual learning (tasks in sequence)",
        Order = 75,
        Summary = "Learns two to four datasets one after another on one backbone, a head per task, and measures what is forgotten.",
        Explanation =
            "Continual learning trains task B after task A (and C after B) on one backbone, each task with its own classifier head; the " +
            "task is known at test time, so each is tested with its own head (the task-incremental setting). Each task trains for the " +
            "run's epochs, in the order given; the learning-rate schedule spans the whole sequence. Heads of earlier tasks are frozen " +
            "when their task ends (their values are restored before every step, so no optimiser state can move them); the backbone " +
            "keeps learning, and that is where forgetting happens. Plain fine-tuning is the baseline: nothing protects the old tasks. " +
            "Learning without Forgetting (Li & Hoiem 2016) keeps a frozen copy of the network as it was when the new task began and adds, " +
            "for every earlier task, the distillation loss between that copy's and the current network's outputs of the old head on the " +
            "new task's images (softmax at temperature T, weighted by the distillation weight), so old tasks' data is never needed. " +
            "Elastic weight consolidation (Kirkpatrick et al. 2017) estimates, when a task ends, each backbone parameter's importance to it " +
            "(the diagonal Fisher information from per-example gradients of the log-likelihood, labels drawn from the model's own " +
            "predictions, on a sample of that task's training examples) and penalises moving important parameters away from their values " +
            "then: λ/2 · Σ F·(θ − θ*)², summed over the earlier tasks. EWC reads the earlier tasks' training data once, when each ends; " +
            "LwF reads none. At the end of each task every task learnt so far is tested with its own head: the rows of the accuracy " +
            "matrix (test accuracy on task i after training task j) and the average forgetting (how far each earlier task fell from its " +
            "best). The test splits serve this report only and never choose weights: the last epoch is tested. The run's own test " +
            "accuracy and confusion matrix are task 1's after the whole sequence, which is where forgetting shows. EWC's λ depends on " +
            "the Fisher's scale and needs tuning; too large and the new task cannot be learnt.",
        TaskDatasets = new(1, MaxTasks - 1, "Later tasks",
            "One to three more labelled datasets of the same kind, learnt after the run's dataset in this order, each with its own head.", Ordered: true),
        Metrics =
        [
            new("task", "Task being learnt", PerStep: false, "The number of the task the epoch trained (1 = the run's dataset)."),
            new("lwf_loss", "Distillation loss (LwF)", PerStep: true, "The old heads' distillation loss on the new task's batch."),
            new("ewc_penalty", "EWC penalty", PerStep: true, "λ/2 · Σ F·(θ − θ*)² over the earlier tasks."),
            .. Enumerable.Range(1, MaxTasks).Select(i => new MetricInfo($"acc_t{i}", $"Test accuracy on task {i}", PerStep: false,
                $"Reported when a task ends: task {i}'s test accuracy with its own head (a row of the accuracy matrix).")),
        ],
    };

    [Option("Method", "How the earlier tasks are protected while a new one is learnt.")]
    public ContinualMethod Method { get; init; } = ContinualMethod.LwF;

    [Option("Distillation weight", "LwF: the weight of the old heads' distillation loss against the new task's cross-entropy (Li & Hoiem use 1).", Min = 0, Max = 100)]
    public double DistillationWeight { get; init; } = 1;

    [Option("Temperature", "LwF: the softmax temperature of the distillation (Li & Hoiem use 2; higher spreads the old heads' answers wider).", Min = 1, Max = 20)]
    public double Temperature { get; init; } = 2;

    [Option("EWC λ", "EWC: the penalty's strength. It multiplies a Fisher information whose scale depends on the model and data; " +
        "typical values lie between 10 and 10,000. Too large and the new task cannot be learnt.", Min = 0, Max = 10_000_000)]
    public double EwcLambda { get; init; } = 1000;

    [Option("Fisher examples", "EWC: training examples of each finished task used to estimate the Fisher information (one backward pass each).", Min = 10, Max = 5000)]
    public int FisherExamples { get; init; } = 200;

    [Option("Layer-wise decay", "Each earlier backbone stage learns at this multiple of the next stage's rate (1: one rate for all).", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 0.7;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        var defaults = new ContinualOptions();
        if (Method != ContinualMethod.LwF)
        {
            if (DistillationWeight != defaults.DistillationWeight) yield return OptionProblem.Option("distillationWeight", "The distillation weight applies to LwF only; choose LwF or leave it at its default.");
            if (Temperature != defaults.Temperature) yield return OptionProblem.Option("temperature", "The temperature applies to LwF only; choose LwF or leave it at its default.");
        }
        if (Method != ContinualMethod.Ewc)
        {
            if (EwcLambda != defaults.EwcLambda) yield return OptionProblem.Option("ewcLambda", "EWC λ applies to EWC only; choose EWC or leave it at its default.");
            if (FisherExamples != defaults.FisherExamples) yield return OptionProblem.Option("fisherExamples", "Fisher examples apply to EWC only; choose EWC or leave it at its default.");
        }
        if (context.Training.EarlyStoppingPatience > 0)
            yield return new OptionProblem("HyperParameters.EarlyStoppingPatience",
                "Early stopping would end the whole sequence when one task stops improving; continual learning trains every task for the run's epochs. Set patience to 0.");
        foreach (var task in context.Tasks)
            if (task.ClassNames.Count < 2)
                yield return new OptionProblem("TaskDatasetIds", $"Task dataset '{task.Id}' has {task.ClassNames.Count} class; a classification task needs at least 2.");
    }
}
