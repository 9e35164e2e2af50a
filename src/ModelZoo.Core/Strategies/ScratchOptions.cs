namespace ModelZoo.Core.Strategies;

/// <summary>The baseline: the same architecture, randomly initialised, every layer trained. No options of its own.</summary>
public sealed record ScratchOptions : StrategyOptions, IStrategyDefinition<ScratchOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "scratch",
        Title = "From scratch (baseline)",
        Order = 90,
        Summary = "The same architecture with random weights, every layer trained: the baseline that tells whether transfer helped.",
        Explanation =
            "The model is built with its random initialisation (the seed decides it) and no pretrained weights are loaded; every layer " +
            "trains in training mode with one learning rate. Everything else (data, label budget, epochs, optimiser, schedule, seed) " +
            "is the run's, so a transfer run and its scratch baseline differ only in where the weights started. When scratch matches a " +
            "transfer run, the pretraining did not help on this data.",
        UsesPretrainedWeights = false,
    };
}
