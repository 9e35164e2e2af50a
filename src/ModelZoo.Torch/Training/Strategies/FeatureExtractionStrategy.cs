using ModelZoo.Core.Runs;
using ModelZoo.Torch.Models;
using TorchSharp.Modules;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Linear probe: the backbone is frozen and kept in eval mode, so BatchNorm uses its running statistics and the
/// features are exactly those the weights define; only the new classifier learns.
/// </summary>
public sealed class FeatureExtractionStrategy : ITransferStrategy
{
    public StrategyKind Kind => StrategyKind.FeatureExtraction;
    public bool BackboneFrozen => true;

    public void Configure(ZooModel model)
    {
        foreach (var p in model.BackboneParameters()) p.requires_grad = false;
        foreach (var p in model.ClassifierParameters()) p.requires_grad = true;
    }

    // eval() on the whole model: a linear classifier has no mode-dependent layers, and the backbone must not
    // update BatchNorm statistics.
    public void SetTrainingMode(ZooModel model) => model.eval();

    public IReadOnlyList<(IEnumerable<Parameter> Parameters, double LearningRate)> OptimizerGroups(ZooModel model, double baseLearningRate) =>
        [(model.ClassifierParameters().ToList(), baseLearningRate)];
}
