using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Training.Strategies;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Strategies register here, each as its options record (the description, in Core) and its class (here), like
/// timm's <c>register_model</c> and the <see cref="Models.ArchitectureRegistry"/>: the loop, the API and the form find
/// them by id, never through a switch. Registering an id twice throws.
/// </summary>
public sealed class StrategyRegistry : IStrategyCatalog
{
    readonly List<StrategyDescription> _descriptions = [];
    readonly Dictionary<string, Func<TrainingStrategy>> _factories = new(StringComparer.Ordinal);
    StrategyCatalog? _catalog;

    public StrategyRegistry Add<TOptions, TStrategy>()
        where TOptions : StrategyOptions, IStrategyDefinition<TOptions>, new()
        where TStrategy : TrainingStrategy<TOptions>, new()
    {
        var description = StrategyDescription.Of<TOptions>();
        if (!_factories.TryAdd(description.Id, () => new TStrategy()))
            throw new InvalidOperationException($"Strategy '{description.Id}' is already registered.");
        _descriptions.Add(description);
        _catalog = null;
        return this;
    }

    StrategyCatalog Catalog => _catalog ??= new StrategyCatalog(_descriptions);

    public IReadOnlyList<StrategyDescription> All => Catalog.All;

    public StrategyDescription? Find(string? idOrAlias) => Catalog.Find(idOrAlias);

    /// <summary>A fresh instance of the strategy for one run, with its options.</summary>
    public TrainingStrategy Create(StrategyDescription description, StrategyOptions options)
    {
        if (!_factories.TryGetValue(description.Id, out var factory))
            throw new KeyNotFoundException($"Strategy '{description.Id}' is not registered.");
        if (options.GetType() != description.OptionsType)
            throw new ArgumentException($"Strategy '{description.Id}' takes {description.OptionsType.Name}, not {options.GetType().Name}.", nameof(options));
        var strategy = factory();
        strategy.Options = options;
        return strategy;
    }

    /// <summary>Every strategy this project implements, in one place (<see cref="BuiltInStrategies"/>).</summary>
    public static StrategyRegistry Default { get; } = BuiltInStrategies.Register(new StrategyRegistry());
}
