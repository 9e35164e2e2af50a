using ModelZoo.Torch.Models;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Discriminative (layer-wise) learning rates over a model's named stages (<see cref="ZooModel.ParameterGroups"/>):
/// the last stage (the head) gets the base rate and each earlier stage the rate times the decay per stage of distance
/// from the head (ULMFiT's discriminative fine-tuning, timm/BEiT's layer decay). Shared by the fine-tuning strategies.
/// </summary>
public static class LayerwiseLearningRates
{
    /// <summary>Each stage's multiple of the base rate, stem first, in the model's stage order.</summary>
    public static IReadOnlyList<(string Stage, double Scale)> PerStage(ZooModel model, double decay)
    {
        var names = model.StageNames;
        return names.Select((n, i) => (n, Math.Pow(decay, names.Count - 1 - i))).ToList();
    }

    /// <summary>One group per stage in <paramref name="stages"/>, head first. Stages without parameters are left out.</summary>
    public static IReadOnlyList<ParameterGroupSpec> Groups(ZooModel model, IReadOnlyCollection<string> stages, double decay)
    {
        var scales = PerStage(model, decay).ToDictionary(r => r.Stage, r => r.Scale);
        return model.ParameterGroups()
            .Where(g => stages.Contains(g.Name) && g.Parameters.Count > 0)
            .Reverse()
            .Select(g => new ParameterGroupSpec(g.Name, g.Parameters.Select(p => p.Parameter).ToList(), scales[g.Name]))
            .ToList();
    }
}
