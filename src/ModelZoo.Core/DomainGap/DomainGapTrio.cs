using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.DomainGap;

/// <summary>The three arms of the domain-gap report, in the order they are queued and shown.</summary>
public enum TrioArm
{
    /// <summary>DANN with its maximum λ at 0: the same network, data and schedule as DANN, but the reversed gradient is
    /// zero, so the backbone learns from the labelled source alone. The baseline adaptation has to beat.</summary>
    SourceOnly,
    /// <summary>DANN with its default options.</summary>
    Dann,
    /// <summary>Full fine-tuning on the target's own labels: the ceiling adaptation without target labels aims at.</summary>
    Oracle,
}

/// <summary>
/// What a user asks for: a backbone, a labelled source and a target dataset, and the seeds each arm is trained with.
/// The three arms share <see cref="HyperParameters"/> (each run's seed is its own), so they differ only in what the
/// arm is. <c>POST /api/domain-gap/trios</c> and the domain-gap page alike.
/// </summary>
public sealed record DomainGapTrioRequest
{
    public string? Name { get; init; }
    public string ModelId { get; init; } = "";
    public string SourceDatasetId { get; init; } = "";
    public string TargetDatasetId { get; init; } = "";
    /// <summary>Each arm is trained once per seed; the arm's 95 % interval is over these.</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [1, 2, 3];
    /// <summary>Shared by every run of the trio; its <c>Seed</c> is replaced by each run's.</summary>
    public HyperParameters HyperParameters { get; init; } = new();
    /// <summary>Measure the gap (proxy A-distance, MMD) on the backbone's features before queuing the runs, and keep it
    /// with the trio. The launch then waits for the measurement.</summary>
    public bool MeasureGap { get; init; } = true;
    /// <summary>Examples per domain for the measurement (<see cref="DomainGapRequest.Examples"/>).</summary>
    public int GapExamples { get; init; } = 500;

    /// <summary>Two seeds give an interval at all (t with 1 degree of freedom, very wide); ten keep a trio at 30 runs.</summary>
    public const int MinSeeds = 2, MaxSeeds = 10;
}

/// <summary>One planned run: its arm, its seed and the request that launches it.</summary>
public sealed record PlannedTrioRun(TrioArm Arm, int Seed, RunRequest Request);

/// <summary>Where each launched run sits in the trio: stored with the trio, so the report never guesses a run's arm.</summary>
public sealed record TrioSlot(Guid RunId, TrioArm Arm, int Seed);

/// <summary>A trio's stored plan: what was asked, the gap measured before launch (null when not asked for), and every
/// run's slot.</summary>
public sealed record TrioLayout(DomainGapTrioRequest Request, DomainGapReport? Gap, IReadOnlyList<TrioSlot> Slots);

/// <summary>
/// The trio's runs: for each seed, source-only (<c>dann</c> with <c>maxLambda</c> 0), DANN (its defaults) and the oracle
/// (<c>full-fine-tune</c> on the target). Source-only and DANN read the source's labels and the target's unlabelled
/// training images and are tested on the target's test split; the oracle trains, selects and tests on the target.
/// Built from the request alone; whether each run is valid is the run validator's job, at launch.
/// </summary>
public static class TrioPlan
{
    public const string DannStrategy = "dann", OracleStrategy = "full-fine-tune", MaxLambdaOption = "maxLambda";

    public static string Label(TrioArm arm) => arm switch
    {
        TrioArm.SourceOnly => "Source only",
        TrioArm.Dann => "DANN",
        _ => "Oracle (target labels)",
    };

    /// <summary>The runs, arm by arm and seed by seed within each arm, or the errors of the trio's own fields
    /// (<c>Seeds</c>, <c>TargetDatasetId</c> when it is the source).</summary>
    public static (IReadOnlyList<PlannedTrioRun> Runs, IReadOnlyDictionary<string, string> Errors) Build(DomainGapTrioRequest r)
    {
        var errors = new Dictionary<string, string>();
        var source = r.SourceDatasetId?.Trim() ?? "";
        var target = r.TargetDatasetId?.Trim() ?? "";
        if (source.Length > 0 && source == target)
            errors["TargetDatasetId"] = "The target must be another dataset than the source: a dataset has no gap with itself.";
        if (r.Seeds.Count is < DomainGapTrioRequest.MinSeeds or > DomainGapTrioRequest.MaxSeeds)
            errors["Seeds"] = $"Give {DomainGapTrioRequest.MinSeeds} to {DomainGapTrioRequest.MaxSeeds} seeds: an interval needs at least two.";
        else if (r.Seeds.GroupBy(s => s).FirstOrDefault(g => g.Count() > 1) is { } twice)
            errors["Seeds"] = $"Seed {twice.Key} is listed twice: it would train the same run twice.";
        if (errors.Count > 0) return ([], errors);

        var name = string.IsNullOrWhiteSpace(r.Name) ? $"Domain gap {source} → {target}" : r.Name.Trim();
        var runs = new List<PlannedTrioRun>();
        foreach (var arm in Enum.GetValues<TrioArm>())
            foreach (var seed in r.Seeds)
                runs.Add(new PlannedTrioRun(arm, seed, new RunRequest
                {
                    ModelId = r.ModelId?.Trim() ?? "",
                    DatasetId = arm == TrioArm.Oracle ? target : source,
                    TargetDatasetId = arm == TrioArm.Oracle ? null : target,
                    Strategy = arm == TrioArm.Oracle ? OracleStrategy : DannStrategy,
                    // λ at 0 for every step: the domain classifier still trains, but its reversed gradient is zero.
                    Options = arm == TrioArm.SourceOnly ? new JsonObject { [MaxLambdaOption] = 0.0 } : null,
                    HyperParameters = r.HyperParameters with { Seed = seed },
                    Name = Cut($"{name}: {Label(arm)} · seed {seed}"),
                }));
        return (runs, errors);
    }

    /// <summary>
    /// A run's errors under the trio's fields: the labelled dataset of source-only and DANN runs is the source, the
    /// oracle's is the target; a strategy that does not fit is the model's; the model, the target and the training
    /// settings keep their keys. The message names the arm.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ErrorsOf(PlannedTrioRun run, IReadOnlyDictionary<string, string> runErrors)
    {
        var errors = new Dictionary<string, string>();
        foreach (var (key, message) in runErrors)
        {
            var field = key switch
            {
                "DatasetId" => run.Arm == TrioArm.Oracle ? "TargetDatasetId" : "SourceDatasetId",
                "HyperParameters.Seed" => "Seeds",
                // The trio chooses its strategies itself; one that does not fit is the model's misfit (DANN on a text model).
                "Strategy" => "ModelId",
                _ => key,
            };
            errors.TryAdd(field, $"{message} ({Label(run.Arm)}, seed {run.Seed})");
        }
        return errors;
    }

    static string Cut(string s) => s.Length <= 200 ? s : s[..200];
}
