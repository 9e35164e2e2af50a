using ModelZoo.Core.Runs;
using ModelZoo.Torch.Models;
using TorchSharp.Modules;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Layer-wise learning-rate decay over a model's named stages (<see cref="ZooModel.ParameterGroups"/>): the last
/// stage (the head) gets the base rate and each earlier stage the rate times <see cref="StrategyDescriptions.LayerwiseDecay"/>
/// per stage of distance from the head. Shared by the fine-tuning strategies so they decay alike.
/// </summary>
public static class LayerwiseLearningRates
{
    /// <summary>The learning rate of every stage, stem first, in the model's stage order.</summary>
    public static IReadOnlyList<(string Stage, double LearningRate)> PerStage(ZooModel model, double baseLearningRate, double decay)
    {
        var names = model.StageNames;
        return names.Select((n, i) => (n, baseLearningRate * Math.Pow(decay, names.Count - 1 - i))).ToList();
    }

    /// <summary>
    /// One optimiser group per stage in <paramref name="trainedStages"/>, head first (the trainer reports the first
    /// group's rate, which is then the base rate). Stages without parameters are left out: AdamW refuses empty groups.
    /// </summary>
    public static IReadOnlyList<(IEnumerable<Parameter> Parameters, double LearningRate)> Groups(
        ZooModel model, double baseLearningRate, IReadOnlyCollection<string> trainedStages, double decay = StrategyDescriptions.LayerwiseDecay)
    {
        var rates = PerStage(model, baseLearningRate, decay).ToDictionary(r => r.Stage, r => r.LearningRate);
        return model.ParameterGroups()
            .Where(g => trainedStages.Contains(g.Name) && g.Parameters.Count > 0)
            .Reverse()
            .Select(g => ((IEnumerable<Parameter>)g.Parameters.Select(p => p.Parameter).ToList(), rates[g.Name]))
            .ToList();
    }
}
