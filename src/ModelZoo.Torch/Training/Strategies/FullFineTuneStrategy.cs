using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Full fine-tune: every parameter learns with layer-wise rates. With gradual unfreezing the body starts frozen (in
/// eval mode) and joins after the head-only epochs: all at once, or one stage per epoch from the top.
/// </summary>
public sealed class FullFineTuneStrategy : TrainingStrategy<FullFineTuneOptions>
{
    IReadOnlyList<string> _frozen = [];

    /// <summary>The stages still frozen during <paramref name="epoch"/> (1-based), stem first.</summary>
    public static IReadOnlyList<string> FrozenDuring(IReadOnlyList<string> stages, FullFineTuneOptions o, int epoch)
    {
        var backbone = stages.Take(stages.Count - 1).ToList();
        if (o.Unfreezing == UnfreezingMode.Off || epoch > o.FrozenEpochs && o.Unfreezing == UnfreezingMode.HeadFirst) return [];
        if (epoch <= o.FrozenEpochs) return backbone;
        // StageByStage: one more stage from the top each epoch after the head-only ones.
        var unfrozen = epoch - o.FrozenEpochs;
        return backbone.Take(Math.Max(0, backbone.Count - unfrozen)).ToList();
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        foreach (var p in run.Model.parameters()) p.requires_grad = true;
        return LayerwiseLearningRates.Groups(run.Model, run.Model.StageNames, Options.LayerwiseDecay);
    }

    public override void BeginEpoch(RunContext run, int epoch)
    {
        _frozen = FrozenDuring(run.Model.StageNames, Options, epoch);
        Supervised.Freeze(run, _frozen.ToHashSet());
        Supervised.TrainExcept(run, _frozen);
    }

    public override StepResult Step(RunContext run, StepInput input) => Supervised.Step(run, input);

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        yield return new("Learning rates", PartialFineTuneStrategy.Rates(run.Model, run.Model.StageNames, Options.LayerwiseDecay, run.Training.LearningRate));
        if (Options.Unfreezing != UnfreezingMode.Off)
        {
            var stages = run.Model.StageNames;
            var lines = Enumerable.Range(1, run.Training.Epochs)
                .Select(e => (e, FrozenDuring(stages, Options, e)))
                .Select(x => $"epoch {x.e}: {(x.Item2.Count == 0 ? "all stages train" : $"{string.Join(", ", x.Item2)} frozen")}");
            yield return new("Gradual unfreezing", string.Join("; ", lines));
        }
    }
}
