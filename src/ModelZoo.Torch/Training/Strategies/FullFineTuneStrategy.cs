using ModelZoo.Core.Runs;
using ModelZoo.Torch.Models;
using TorchSharp.Modules;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Full fine-tune: every parameter learns and the whole model is in train mode (BatchNorm updates its running
/// statistics, dropout is on). Layer-wise learning-rate decay keeps the early, generic stages close to their
/// pretrained weights while the head, fresh and random, moves fastest.
/// </summary>
public sealed class FullFineTuneStrategy : ITransferStrategy
{
    public StrategyKind Kind => StrategyKind.FullFineTune;
    public bool BackboneFrozen => false;

    public void Configure(ZooModel model)
    {
        foreach (var p in model.parameters()) p.requires_grad = true;
    }

    public void SetTrainingMode(ZooModel model) => model.train();

    public IReadOnlyList<(IEnumerable<Parameter> Parameters, double LearningRate)> OptimizerGroups(ZooModel model, double baseLearningRate) =>
        LayerwiseLearningRates.Groups(model, baseLearningRate, model.StageNames.ToList());
}
