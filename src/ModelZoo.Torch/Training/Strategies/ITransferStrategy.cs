using ModelZoo.Core.Runs;
using ModelZoo.Torch.Models;
using TorchSharp.Modules;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// A transfer strategy decides what is trainable, the optimiser's parameter groups and learning rates, and the
/// BatchNorm/dropout mode while training. The trainer loop is shared; strategies never look at the architecture's
/// name, only at the uniform model API.
/// </summary>
public interface ITransferStrategy
{
    StrategyKind Kind { get; }

    /// <summary>Freezes what must not learn. Called once, after the head is reset to the dataset's classes.</summary>
    void Configure(ZooModel model);

    /// <summary>Puts modules in train or eval mode for a training step.</summary>
    void SetTrainingMode(ZooModel model);

    /// <summary>The parameters the optimiser updates, with their learning rates.</summary>
    IReadOnlyList<(IEnumerable<Parameter> Parameters, double LearningRate)> OptimizerGroups(ZooModel model, double baseLearningRate);

    /// <summary>True when the backbone runs without gradients, so the trainer can skip building its graph.</summary>
    bool BackboneFrozen { get; }
}

public static class TransferStrategies
{
    public static ITransferStrategy For(StrategyKind kind) => kind switch
    {
        StrategyKind.FeatureExtraction => new FeatureExtractionStrategy(),
        StrategyKind.FullFineTune => new FullFineTuneStrategy(),
        StrategyKind.PartialFineTune => new PartialFineTuneStrategy(),
        _ => throw new NotSupportedException($"Strategy {kind} is not implemented."),
    };
}
