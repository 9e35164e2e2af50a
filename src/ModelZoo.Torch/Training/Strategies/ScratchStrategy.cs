using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>The scratch baseline: the random initialisation, every parameter in one group at the base rate.</summary>
public sealed class ScratchStrategy : TrainingStrategy<ScratchOptions>
{
    public override bool LoadsPretrainedWeights => false;

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        foreach (var p in run.Model.parameters()) p.requires_grad = true;
        return [new ParameterGroupSpec("all", run.Model.parameters().ToList())];
    }

    public override StepResult Step(RunContext run, StepInput input) => Supervised.Step(run, input);

    public override IEnumerable<StrategyFact> Facts(RunContext run) =>
        [new("Initialisation", $"random (seed {run.Training.Seed}); no pretrained weights were loaded, on purpose")];
}
