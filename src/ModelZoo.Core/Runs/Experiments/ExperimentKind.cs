namespace ModelZoo.Core.Runs.Experiments;

/// <summary>What an experiment launched: a grid (models × strategies × budgets × seeds) or a transferability sweep
/// (one model at every frozen depth), or a domain-gap trio (source only, DANN and the oracle over seeds). All are stored
/// as experiments; their runs point at them.</summary>
public static class ExperimentKind
{
    public const string Grid = "grid", Sweep = "sweep", DomainGap = "domain-gap";
}

/// <summary>Where each run of a grid sits: stored with the experiment when it is launched, so the grid never has to
/// guess a run's cell from its (normalised) request.</summary>
public sealed record GridSlot(Guid RunId, string ModelId, int Column, int Seed);

/// <summary>A grid experiment's stored plan: what was asked, the rows and columns, and every run's slot.</summary>
public sealed record GridLayout(ExperimentRequest Request, IReadOnlyList<string> Models, IReadOnlyList<GridColumn> Columns, IReadOnlyList<GridSlot> Slots);
