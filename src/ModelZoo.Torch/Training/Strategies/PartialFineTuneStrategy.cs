using ModelZoo.Core.Runs;
using ModelZoo.Torch.Models;
using TorchSharp.Modules;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Partial fine-tune: the earlier half of the backbone stages (stem first) is frozen and kept in eval mode, so its
/// weights and BatchNorm statistics stay the pretrained ones; the later half of the backbone stages (rounded up, at
/// least one) and the head train in train mode with layer-wise learning-rate decay. The split comes from the model's
/// named stages alone: the last stage is the head, every stage before it is backbone.
/// </summary>
public sealed class PartialFineTuneStrategy : ITransferStrategy
{
    public StrategyKind Kind => StrategyKind.PartialFineTune;
    public bool BackboneFrozen => false;

    /// <summary>Which stages of <paramref name="model"/> this strategy freezes and which it trains, stem first.</summary>
    public static (IReadOnlyList<string> Frozen, IReadOnlyList<string> Trained) Split(ZooModel model)
    {
        var stages = model.StageNames;
        int backbone = stages.Count - 1;
        int trainedBackbone = Math.Max(1, (backbone + 1) / 2);
        int frozen = Math.Max(0, backbone - trainedBackbone);
        return (stages.Take(frozen).ToList(), stages.Skip(frozen).ToList());
    }

    /// <summary>The strategy's description naming this model's frozen and trained stages.</summary>
    public static string Describe(ZooModel model)
    {
        var (frozen, trained) = Split(model);
        return StrategyDescriptions.Describe(StrategyKind.PartialFineTune, frozen, trained);
    }

    public void Configure(ZooModel model)
    {
        var trained = Split(model).Trained.ToHashSet();
        foreach (var g in model.ParameterGroups())
            foreach (var (_, p) in g.Parameters) p.requires_grad = trained.Contains(g.Name);
    }

    // train() on the whole model, then eval() on the frozen stages: their BatchNorm keeps the pretrained statistics
    // (a frozen layer that still updated its statistics would drift away from the weights it was trained with).
    public void SetTrainingMode(ZooModel model)
    {
        model.train();
        foreach (var stage in Split(model).Frozen)
            foreach (var m in model.StageModules(stage)) m.eval();
    }

    public IReadOnlyList<(IEnumerable<Parameter> Parameters, double LearningRate)> OptimizerGroups(ZooModel model, double baseLearningRate) =>
        LayerwiseLearningRates.Groups(model, baseLearningRate, Split(model).Trained);
}
