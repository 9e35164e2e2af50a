using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Models;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Fine-tuning of a BERT-style encoder: everything trains except the embeddings (when asked) and the lowest
/// <see cref="TextFineTuneOptions.FrozenLayers"/> encoder layers, which keep their weights and stay in eval mode so
/// their dropout is off. The parts come from the model's stage names alone (<c>embeddings</c>,
/// <c>encoder.layer.N</c>, then the pooler and the head), never from its type.
/// </summary>
public sealed class TextFineTuneStrategy : TrainingStrategy<TextFineTuneOptions>
{
    IReadOnlyList<string> _frozen = [];

    /// <summary>Which stages the options freeze and which train, in the model's stage order.</summary>
    /// <exception cref="ArgumentOutOfRangeException">More frozen layers than the model has.</exception>
    public static (IReadOnlyList<string> Frozen, IReadOnlyList<string> Trained) Split(ZooModel model, TextFineTuneOptions o)
    {
        var stages = model.StageNames;
        var layers = TextFineTuneOptions.EncoderLayers(stages);
        if (o.FrozenLayers < 0 || o.FrozenLayers > layers)
            throw new ArgumentOutOfRangeException(nameof(o), o.FrozenLayers, $"Frozen encoder layers must be between 0 and {layers}: {model.Architecture} has {layers} encoder layers.");
        if (o.FreezeEmbeddings && !stages.Contains("embeddings"))
            throw new ArgumentException($"{model.Architecture} has no 'embeddings' stage to freeze.", nameof(o));
        var frozen = new HashSet<string>(Enumerable.Range(0, o.FrozenLayers).Select(i => $"encoder.layer.{i}"));
        if (o.FreezeEmbeddings) frozen.Add("embeddings");
        return (stages.Where(frozen.Contains).ToList(), stages.Where(s => !frozen.Contains(s)).ToList());
    }

    public override void Setup(RunContext run)
    {
        _frozen = Split(run.Model, Options).Frozen;
        Supervised.Freeze(run, _frozen.ToHashSet());
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run) =>
        LayerwiseLearningRates.Groups(run.Model, Split(run.Model, Options).Trained, Options.LayerwiseDecay);

    public override void BeginEpoch(RunContext run, int epoch) => Supervised.TrainExcept(run, _frozen);

    public override StepResult Step(RunContext run, StepInput input) => Supervised.Step(run, input);

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        var trained = Split(run.Model, Options).Trained;
        yield return new("Frozen parts", _frozen.Count == 0
            ? "none: every part trains"
            : $"{string.Join(", ", _frozen)} (pretrained weights kept; inference mode, dropout off)");
        yield return new("Trained parts", string.Join(", ", trained));
        yield return new("Learning rates", PartialFineTuneStrategy.Rates(run.Model, trained, Options.LayerwiseDecay, run.Training.LearningRate));
    }
}
