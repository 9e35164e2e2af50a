using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Strategies;

/// <summary>The strategies this installation offers, as registered (never a switch over a fixed list).</summary>
public interface IStrategyCatalog
{
    /// <summary>Every strategy, in the order a user would try them.</summary>
    IReadOnlyList<StrategyDescription> All { get; }

    /// <summary>By id or by an older name (<see cref="StrategyInfo.Aliases"/>); null when unknown.</summary>
    StrategyDescription? Find(string? idOrAlias);
}

/// <summary>Collects the registered descriptions; registering an id or alias twice throws at start-up.</summary>
public sealed class StrategyCatalog : IStrategyCatalog
{
    readonly Dictionary<string, StrategyDescription> _byName = new(StringComparer.OrdinalIgnoreCase);

    public StrategyCatalog(IEnumerable<StrategyDescription> strategies)
    {
        All = strategies.OrderBy(s => s.Info.Order).ThenBy(s => s.Title, StringComparer.Ordinal).ToList();
        foreach (var s in All)
            foreach (var name in s.Info.Aliases.Prepend(s.Id))
                if (!_byName.TryAdd(name, s))
                    throw new InvalidOperationException($"Strategy name '{name}' is registered twice ({_byName[name].Id} and {s.Id}).");
    }

    public IReadOnlyList<StrategyDescription> All { get; }

    public StrategyDescription? Find(string? idOrAlias) =>
        idOrAlias is not null && _byName.TryGetValue(idOrAlias, out var s) ? s : null;

    /// <summary>The strategies a model can run: its modality, and BatchNorm where a strategy needs it.</summary>
    public static IEnumerable<StrategyDescription> For(IStrategyCatalog catalog, ModelFacts model) =>
        catalog.All.Where(s => s.Fits(model.Modality) && (!s.Info.RequiresBatchNorm || model.HasBatchNorm));

    /// <summary>Why a strategy does not fit a model, or null when it does.</summary>
    public static string? Misfit(StrategyDescription s, ModelFacts model)
    {
        if (!s.Fits(model.Modality))
            return $"{s.Title} works on {string.Join(" and ", s.Info.Modalities.Select(m => m == DatasetModality.Image ? "images" : "texts"))}, " +
                   $"but model '{model.Id}' reads {(model.Modality == DatasetModality.Image ? "images" : "texts")}.";
        if (s.Info.RequiresBatchNorm && !model.HasBatchNorm)
            return $"{s.Title} re-estimates BatchNorm statistics, and model '{model.Id}' has no BatchNorm layers: choose a model with BatchNorm " +
                   "(ResNet, MobileNet, VGG-BN) or another strategy.";
        return null;
    }
}
