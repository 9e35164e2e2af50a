using System.Globalization;
using System.Text;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Cards;

/// <summary>A mean over seeds with its two-sided 95 % confidence interval (Student's t, n − 1 degrees of freedom).</summary>
public sealed record SeedMean(double Mean, double HalfWidth, int N)
{
    /// <summary>Two-sided 95 % critical values of Student's t for 1 to 30 degrees of freedom (any statistics table);
    /// beyond 30 the normal's 1.96 is within 2 % of them.</summary>
    static readonly double[] T95 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    public static double TCritical(int degreesOfFreedom) =>
        degreesOfFreedom < 1 ? double.NaN : degreesOfFreedom <= T95.Length ? T95[degreesOfFreedom - 1] : 1.96;

    /// <summary>Null for fewer than two values: one seed has no spread to report.</summary>
    public static SeedMean? Of(IReadOnlyList<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        if (finite.Count < 2) return null;
        var mean = finite.Average();
        var sd = Math.Sqrt(finite.Sum(v => (v - mean) * (v - mean)) / (finite.Count - 1));
        return new SeedMean(mean, TCritical(finite.Count - 1) * sd / Math.Sqrt(finite.Count), finite.Count);
    }
}

/// <summary>
/// A card's "quantitative analyses over seeds" (Mitchell et al.): when a run is one seed of an experiment cell, the
/// cell's succeeded runs (same model, strategy, options and label budget; other seeds) give each result with a 95 %
/// interval, so a reader sees how much of a number is the seed. Built at read time from the runs' records, so it
/// grows as the cell's other seeds finish.
/// </summary>
public static class SeedAnalysis
{
    public const string Heading = "## Quantitative analyses over seeds";

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <param name="results">The succeeded runs of the cell, this run included, with their seeds.</param>
    /// <returns>The section, or null with fewer than two succeeded seeds.</returns>
    public static string? Section(string cellLabel, IReadOnlyList<(int Seed, RunResult Result)> results)
    {
        if (results.Count < 2) return null;
        var accuracy = SeedMean.Of(results.Select(r => r.Result.TestAccuracy).ToList());
        if (accuracy is null) return null;
        var f1 = SeedMean.Of(results.Select(r => r.Result.MacroF1).ToList());
        var sb = new StringBuilder();
        sb.AppendLine(Heading);
        sb.AppendLine();
        var seeds = string.Join(", ", results.Select(r => r.Seed).Order());
        sb.AppendLine($"This run is one of {results.Count} succeeded seeds ({seeds}) of the experiment cell *{Esc(cellLabel)}*: the same model, " +
                      "strategy, options, data and label budget. Means with their 95 % confidence intervals (Student's t over the seeds); " +
                      "the interval is about the training's randomness, not about other data.");
        sb.AppendLine();
        sb.AppendLine("| metric | mean | 95 % interval | n |");
        sb.AppendLine("| --- | --- | --- | --- |");
        sb.AppendLine(Row("test accuracy", accuracy));
        if (f1 is not null) sb.AppendLine(Row("macro-F1", f1));

        // Per class, where every seed reports the same classes in the same order.
        var classes = results[0].Result.PerClass.Select(c => c.Class).ToList();
        if (classes.Count > 0 && results.All(r => r.Result.PerClass.Select(c => c.Class).SequenceEqual(classes)))
        {
            sb.AppendLine();
            sb.AppendLine("| class | recall, mean | 95 % interval | F1, mean | 95 % interval |");
            sb.AppendLine("| --- | --- | --- | --- | --- |");
            for (var i = 0; i < classes.Count; i++)
            {
                var recall = SeedMean.Of(results.Select(r => r.Result.PerClass[i].Recall).ToList());
                var classF1 = SeedMean.Of(results.Select(r => r.Result.PerClass[i].F1).ToList());
                sb.AppendLine($"| {Esc(classes[i])} | {Pct(recall?.Mean)} | {Interval(recall)} | {Pct(classF1?.Mean)} | {Interval(classF1)} |");
            }
        }
        sb.AppendLine();
        return sb.ToString();
    }

    static string Row(string name, SeedMean m) => $"| {name} | {Pct(m.Mean)} | {Interval(m)} | {m.N} |";

    static string Interval(SeedMean? m) => m is null ? "–" : $"{Pct(m.Mean - m.HalfWidth)} to {Pct(m.Mean + m.HalfWidth)} (± {(m.HalfWidth * 100).ToString("F2", Inv)} points)";

    static string Pct(double? v) => v is { } d && double.IsFinite(d) ? (d * 100).ToString("F2", Inv) + " %" : "–";

    static string Esc(string s) => ModelCardBuilder.Esc(s);
}
