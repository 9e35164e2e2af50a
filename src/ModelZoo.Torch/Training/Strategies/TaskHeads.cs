using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// The heads of a run's further tasks (task 2 onwards; task 1 keeps the model's own classifier): one Linear each on the
/// pre-logits the model's classifier reads, so every task sees exactly what the first task's head sees. Field names
/// are the saved keys (<c>heads.0.weight</c> is task 2's).
/// </summary>
public sealed class TaskHeads : nn.Module
{
    private readonly ModuleList<Linear> heads;

    TaskHeads(IEnumerable<Linear> linear) : base(nameof(TaskHeads))
    {
        heads = nn.ModuleList(linear.ToArray());
        RegisterComponents();
    }

    /// <summary>Heads for <paramref name="run"/>'s tasks after the first, seeded apart from the model.</summary>
    public static TaskHeads For(RunContext run, int seedSalt)
    {
        var inputs = PreLogitsWidth(run.Model);
        TaskHeads Build() => new(run.Tasks.Skip(1).Select(t => nn.Linear(inputs, t.Classes, device: TorchRuntime.BuildDevice)));
        // A plan builds on the meta device and must not reseed libtorch's one generator, which a training run may be using.
        var heads = run.Planning ? Build() : TorchRuntime.BuildSeeded(TrainingSelection.Seed(run.Training.Seed, seedSalt), Build);
        heads.to(run.Device);
        return heads;
    }

    /// <summary>The width of the model's classifier input (its Linear's in_features).</summary>
    public static long PreLogitsWidth(ZooModel model) =>
        model.named_modules().FirstOrDefault(m => m.name == model.ClassifierPrefix).module is Linear linear
            ? linear.in_features
            : throw new NotSupportedException($"{model.Architecture}: its classifier at '{model.ClassifierPrefix}' is not one Linear layer, so further task heads cannot share its input.");

    /// <summary>Task <paramref name="task"/>'s logits (0 = the model's own classifier) from pre-logits.</summary>
    public Tensor Logits(ZooModel model, int task, Tensor preLogits) =>
        task == 0 ? model.ForwardClassifier(preLogits) : heads[task - 1].call(preLogits);

    /// <summary>Task <paramref name="task"/>'s logits from inputs, through the shared backbone.</summary>
    public Tensor Predict(ZooModel model, int task, Tensor x)
    {
        using var scope = NewDisposeScope();
        return Logits(model, task, model.ForwardHead(model.ForwardFeatures(x), preLogits: true)).MoveToOuterDisposeScope();
    }

    /// <summary>Each task's test (and validation) result with its own head, with the weights the run tests.</summary>
    public IReadOnlyList<TaskResult> Results(RunContext run, TrainingStrategy strategy) =>
        run.Tasks.Select((task, i) =>
        {
            var test = Evaluator.Run(run, strategy, EvaluationSet.Of(task, task.Test, b => Predict(run.Model, i, b.X)));
            var val = Evaluator.Run(run, strategy, EvaluationSet.Of(task, task.Validation, b => Predict(run.Model, i, b.X)));
            var scores = ClassificationMetrics.PerClass(task.ClassNames, test.Confusion.Select(r => (IReadOnlyList<int>)r).ToList());
            return new TaskResult(task.DatasetId, test.Accuracy, ClassificationMetrics.MacroF1(scores), test.Examples, task.Train.Length, task.ClassNames)
            {
                ValAccuracy = val.Examples == 0 ? double.NaN : val.Accuracy,
            };
        }).ToList();
}
