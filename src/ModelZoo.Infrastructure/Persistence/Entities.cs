using ModelZoo.Core.Runs;

namespace ModelZoo.Infrastructure.Persistence;

/// <summary>A run as stored. Request and result are JSON: they are read whole and never queried by field.</summary>
public sealed class RunRecord
{
    public Guid Id { get; set; }
    public string? Name { get; set; }
    public string ModelId { get; set; } = "";
    public string DatasetId { get; set; } = "";
    /// <summary>The strategy's id (<c>GET /api/strategies</c>).</summary>
    public string Strategy { get; set; } = "";
    /// <summary>The target domain of a domain-adaptation run.</summary>
    public string? TargetDatasetId { get; set; }
    /// <summary>The run this one is the scratch baseline of.</summary>
    public Guid? BaselineForId { get; set; }
    /// <summary>The experiment (grid or transferability sweep) this run belongs to.</summary>
    public Guid? ExperimentId { get; set; }
    public string RequestJson { get; set; } = "";
    public RunStatus Status { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public string? Device { get; set; }
    public string? Error { get; set; }
    public bool CancelRequested { get; set; }
    public string? ResultJson { get; set; }
    public string? CardMarkdown { get; set; }
    public long LastSeq { get; set; }
    /// <summary>How often the run was resumed from a checkpoint after the portal stopped.</summary>
    public int Resumes { get; set; }
    /// <summary>The account that launched it; null for runs from before accounts (or with accounts off), which only
    /// admins may manage.</summary>
    public string? OwnerId { get; set; }

    /// <summary>A typed summary of the result, for sorting and filtering without reading the JSON.</summary>
    public double? TestAccuracy { get; set; }
    public double? TestMacroF1 { get; set; }
    public double? TestEce { get; set; }
    public double? BestValAccuracy { get; set; }
    public double? TrainSeconds { get; set; }
    public long? TrainableParameters { get; set; }
    public int? LabelsPerClass { get; set; }
}

/// <summary>One named value of one progress event (<c>loss</c> of step 17, <c>val_acc</c> of epoch 3), so pages and
/// comparisons query curves by name without reading event payloads; a new strategy's values need no new column.</summary>
public sealed class RunMetricRecord
{
    public long Id { get; set; }
    public Guid RunId { get; set; }
    /// <summary>The event that carried the value: a resume deletes values after its checkpoint with their events.</summary>
    public long Seq { get; set; }
    public string Name { get; set; } = "";
    /// <summary>Global step for per-step values; null for per-epoch values.</summary>
    public int? Step { get; set; }
    public int Epoch { get; set; }
    /// <summary>Seconds since training began, for per-step values.</summary>
    public double? Elapsed { get; set; }
    public double Value { get; set; }
}

/// <summary>One saved version of the person-written parts of a run's card. Versions are only ever added, so every
/// earlier text stays readable; the generated card itself lives on the run and is never edited.</summary>
public sealed class CardVersionRecord
{
    public long Id { get; set; }
    public Guid RunId { get; set; }
    /// <summary>1, 2, ... per run; unique with <see cref="RunId"/>, so two editors saving on the same version cannot both win.</summary>
    public int Version { get; set; }
    public string? IntendedUse { get; set; }
    public string? EthicalConsiderations { get; set; }
    public DateTimeOffset SavedAt { get; set; }
    /// <summary>Who saved it; null while the portal has no accounts.</summary>
    public string? SavedBy { get; set; }
}

/// <summary>
/// Runs launched together: a grid (<c>Kind = "grid"</c>: models × strategies × label budgets × seeds on one dataset)
/// or a transferability sweep (<c>"sweep"</c>: one backbone at every frozen depth). Its runs point at it
/// (<see cref="RunRecord.ExperimentId"/>). Sweeps were a table of their own until the Experiments migration moved them
/// here with their runs' links.
/// </summary>
public sealed class ExperimentRecord
{
    public Guid Id { get; set; }
    /// <summary><c>grid</c>, <c>sweep</c> or <c>domain-gap</c> (Core's <c>ExperimentKind</c>).</summary>
    public string Kind { get; set; } = "";
    public string? Name { get; set; }
    public string DatasetId { get; set; } = "";
    /// <summary>What was launched: a grid's <c>GridLayout</c> (its request, rows, columns and every run's slot); a
    /// sweep's shared <c>RunRequest</c>; a domain-gap trio's <c>TrioLayout</c>. Read whole, never queried by field.</summary>
    public string PlanJson { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>When someone cancelled the experiment as a whole.</summary>
    public DateTimeOffset? CancelledAt { get; set; }
    /// <summary>The account that launched it; null for experiments from before accounts (or with accounts off).</summary>
    public string? OwnerId { get; set; }
}

/// <summary>One progress event, kept so late joiners and comparison views see the whole history.</summary>
public sealed class RunEventRecord
{
    public long Id { get; set; }
    public Guid RunId { get; set; }
    public long Seq { get; set; }
    public RunEventKind Kind { get; set; }
    public DateTimeOffset At { get; set; }
    public string PayloadJson { get; set; } = "";
}

/// <summary>One inference-latency measurement of a catalogue entry on this machine (see Catalog/LatencyService).</summary>
public sealed class LatencyRecord
{
    public long Id { get; set; }
    public string ModelId { get; set; } = "";
    public string Architecture { get; set; } = "";
    public int Batch { get; set; }
    public int InputSize { get; set; }
    public int Threads { get; set; }
    public string Device { get; set; } = "";
    public double MedianMs { get; set; }
    public double P90Ms { get; set; }
    public int Iterations { get; set; }
    public DateTimeOffset MeasuredAt { get; set; }
    public string SoftwareVersions { get; set; } = "";
    /// <summary>Share of the machine's CPU time that other processes used during the measurement (0-100); null
    /// where the OS does not report it.</summary>
    public double? OtherCpuPercent { get; set; }
}
