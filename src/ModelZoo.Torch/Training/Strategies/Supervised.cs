using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>The plain supervised step most strategies share: logits of the labelled batch, the run's cross-entropy.</summary>
public static class Supervised
{
    public static StepResult Step(RunContext run, StepInput input)
    {
        var logits = run.Model.call(input.Batch.X);
        return new StepResult(run.CrossEntropy(logits, input.Batch.Y), logits);
    }

    /// <summary>Sets which stages learn (requires_grad) and puts the frozen ones in eval mode after the rest in
    /// train mode, so a frozen BatchNorm keeps the statistics its weights were trained with.</summary>
    public static void Freeze(RunContext run, IReadOnlyCollection<string> frozenStages)
    {
        foreach (var g in run.Model.ParameterGroups())
            foreach (var (_, p) in g.Parameters) p.requires_grad = !frozenStages.Contains(g.Name);
    }

    public static void TrainExcept(RunContext run, IEnumerable<string> frozenStages)
    {
        run.Model.train();
        foreach (var stage in frozenStages)
            foreach (var m in run.Model.StageModules(stage)) m.eval();
    }
}
