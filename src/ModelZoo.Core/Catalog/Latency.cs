namespace ModelZoo.Core.Catalog;

/// <summary>One stored inference-latency measurement of a catalogue entry on this machine.</summary>
public sealed record LatencyMeasurement
{
    public long Id { get; init; }
    public string ModelId { get; init; } = "";
    public string Architecture { get; init; } = "";
    public int Batch { get; init; }
    public int InputSize { get; init; }
    public int Threads { get; init; }
    public string Device { get; init; } = "";
    public double MedianMs { get; init; }
    public double P90Ms { get; init; }
    public int Iterations { get; init; }
    public DateTimeOffset MeasuredAt { get; init; }
    public string SoftwareVersions { get; init; } = "";
    /// <summary>Share of the machine's CPU time that other processes used while this was measured (0-100). The
    /// training-run check cannot see other programs; this shows whether they competed for the cores.</summary>
    public double? OtherCpuPercent { get; init; }

    /// <summary>Above this, other programs took enough of the cores that the timing says little about this model.</summary>
    public const double BusyAbovePercent = 20;

    public bool TakenOnABusyMachine => OtherCpuPercent > BusyAbovePercent;
}

public enum LatencyJobState { Queued, WaitingForTraining, Measuring, Succeeded, Failed }

/// <summary>Where a requested measurement stands; <see cref="Progress"/> runs from 0 to 1 over all its batches.</summary>
public sealed record LatencyJob(
    string ModelId, IReadOnlyList<int> Batches, LatencyJobState State, string Message, double Progress,
    DateTimeOffset QueuedAt, DateTimeOffset? FinishedAt = null)
{
    public bool IsActive => State is LatencyJobState.Queued or LatencyJobState.WaitingForTraining or LatencyJobState.Measuring;
}

public static class LatencyStats
{
    /// <summary>Nearest-rank percentile (p in 0..100): always one of the measured times, never an interpolation.</summary>
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var v = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100.0 * v.Length);
        return v[Math.Clamp(rank - 1, 0, v.Length - 1)];
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
