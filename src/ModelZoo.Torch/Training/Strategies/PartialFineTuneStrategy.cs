using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Partial fine-tune at a chosen depth: the first <see cref="PartialFineTuneOptions.FrozenStages"/> backbone stages
/// (stem first) keep their weights and stay in eval mode; the later stages and the head train with layer-wise rates.
/// The split comes from the model's named stages alone: the last stage is the head, every stage before it is backbone.
/// </summary>
public sealed class PartialFineTuneStrategy : TrainingStrategy<PartialFineTuneOptions>
{
    IReadOnlyList<string> _frozen = [];

    /// <summary>Which stages a depth freezes and which train, stem first.</summary>
    public static (IReadOnlyList<string> Frozen, IReadOnlyList<string> Trained) Split(Models.ZooModel model, int frozenStages)
    {
        var stages = model.StageNames;
        var backbone = stages.Count - 1;
        if (frozenStages < 0 || frozenStages > backbone)
            throw new ArgumentOutOfRangeException(nameof(frozenStages), frozenStages, $"{model.Architecture} has {backbone} backbone stages.");
        return (stages.Take(frozenStages).ToList(), stages.Skip(frozenStages).ToList());
    }

    public override void Setup(RunContext run)
    {
        _frozen = Split(run.Model, Options.FrozenStages).Frozen;
        Supervised.Freeze(run, _frozen.ToHashSet());
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run) =>
        LayerwiseLearningRates.Groups(run.Model, Split(run.Model, Options.FrozenStages).Trained, Options.LayerwiseDecay);

    public override void BeginEpoch(RunContext run, int epoch) => Supervised.TrainExcept(run, _frozen);

    public override StepResult Step(RunContext run, StepInput input) => Supervised.Step(run, input);

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        var trained = Split(run.Model, Options.FrozenStages).Trained;
        yield return new("Frozen stages", _frozen.Count == 0 ? "none (depth 0)" : $"{string.Join(", ", _frozen)} (depth {_frozen.Count} of {run.Model.StageNames.Count - 1}; BatchNorm in inference mode)");
        yield return new("Trained stages", string.Join(", ", trained));
        yield return new("Learning rates", Rates(run.Model, trained, Options.LayerwiseDecay, run.Training.LearningRate));
    }

    /// <summary>"head 1e-3, layer4 7e-4, …": each trained stage's peak rate.</summary>
    internal static string Rates(Models.ZooModel model, IReadOnlyList<string> trained, double decay, double baseRate) =>
        string.Join(", ", LayerwiseLearningRates.PerStage(model, decay).Where(s => trained.Contains(s.Stage)).Reverse()
            .Select(s => $"{s.Stage} {(baseRate * s.Scale).ToString("G3", System.Globalization.CultureInfo.InvariantCulture)}"));
}
