namespace ModelZoo.Core.Runs.Compare;

/// <summary>A per-epoch metric of one run: its best and last finite values and the (first) epoch that reached the
/// best. Null where the run has not recorded a finite value.</summary>
public sealed record MetricSummary(string Name, double? Best, int? BestEpoch, double? Last)
{
    public static readonly MetricSummary Empty = new("", null, null, null);

    /// <summary>Losses and errors are best when lowest; everything else (accuracies, F1) when highest.</summary>
    public static bool LowerIsBetter(string name) =>
        name.Contains("loss", StringComparison.OrdinalIgnoreCase) || name.Contains("error", StringComparison.OrdinalIgnoreCase)
        || name.Equals("ece", StringComparison.OrdinalIgnoreCase);

    public static MetricSummary Of(string name, IReadOnlyList<CurvePoint> perEpoch)
    {
        double? best = null, last = null;
        int? bestEpoch = null;
        var lower = LowerIsBetter(name);
        foreach (var p in perEpoch)
        {
            // NaN marks a value an epoch could not measure (training accuracy of an unlabelled stream): neither best nor last.
            if (!double.IsFinite(p.Value)) continue;
            last = p.Value;
            // Strictly better only, so ties keep the earliest epoch, as the trainer's best-epoch selection does.
            if (best is null || (lower ? p.Value < best : p.Value > best))
            {
                best = p.Value;
                bestEpoch = (int)Math.Round(p.Epoch);
            }
        }
        return new MetricSummary(name, best, bestEpoch, last);
    }
}
