using ModelZoo.Core.Runs;

namespace ModelZoo.Infrastructure.Persistence;

/// <summary>A run as stored. Request and result are JSON: they are read whole and never queried by field.</summary>
public sealed class RunRecord
{
    public Guid Id { get; set; }
    public string? Name { get; set; }
    public string ModelId { get; set; } = "";
    public string DatasetId { get; set; } = "";
    public StrategyKind Strategy { get; set; }
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
