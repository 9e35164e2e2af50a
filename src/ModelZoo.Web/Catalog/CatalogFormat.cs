using System.Globalization;
using ModelZoo.Core.Catalog;

namespace ModelZoo.Web.Catalog;

/// <summary>How the catalogue and compare pages write published figures and measured latencies.</summary>
public static class CatalogFormat
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Published accuracies are percentages already (torchvision's 69.758).</summary>
    public static string Pct(double percent) => percent.ToString("0.00", Inv) + " %";

    public static string Gflops(double g) => g.ToString(g < 1 ? "0.###" : "0.00", Inv);

    public static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : ms < 100 ? "0.0" : "0", Inv) + " ms";

    public static string Source(PublishedMetric m) => $"{m.Name} on {m.Dataset}. Source: {m.Source}";

    public static string When(DateTimeOffset at) => at.ToLocalTime().ToString("yyyy-MM-dd HH:mm", Inv);

    /// <summary>Pixels for an image model, tokens for a text model (its manifest has a text section).</summary>
    public static string InputUnit(ModelManifest m) => m.Text is null ? "px" : "tokens";

    public static string Input(ModelManifest m) => $"{m.Preprocessing.InputSize} {InputUnit(m)}";

    public static string Describe(LatencyMeasurement m, string unit = "px") =>
        $"Median of {m.Iterations} inferences (p90 {Ms(m.P90Ms)}), batch {m.Batch}, {m.InputSize} {unit}, {m.Threads} threads, " +
        $"{m.Device}, {When(m.MeasuredAt)}; {m.SoftwareVersions}" + (Busy(m) is { } busy ? $". {busy}" : "");

    /// <summary>A warning when other programs competed for the cores during the measurement, else null.</summary>
    public static string? Busy(LatencyMeasurement m) => m.TakenOnABusyMachine
        ? $"Busy machine: other processes took {m.OtherCpuPercent:0} % of the CPU, so this timing is inflated"
        : null;

    public static string JobShort(LatencyJob job) => job.State switch
    {
        LatencyJobState.Queued => "queued",
        LatencyJobState.WaitingForTraining => "waiting for training",
        LatencyJobState.Measuring => $"measuring {job.Progress:P0}",
        LatencyJobState.Failed => "failed",
        _ => "",
    };
}
