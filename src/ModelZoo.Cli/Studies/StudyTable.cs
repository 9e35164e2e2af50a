using System.Globalization;
using System.Text;

namespace ModelZoo.Cli.Studies;

/// <summary>
/// A study's results as a Markdown table: a row per group, a column per arm, each cell the mean ± sample standard
/// deviation of the test accuracy over seeds, with the number of seeds. Where an arm ran at several settings, the
/// setting with the best mean validation accuracy is shown, and named.
/// </summary>
public static class StudyTable
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(Study study, IReadOnlyList<StudyResult> results)
    {
        var groups = study.Arms.Select(a => a.Group).Concat(results.Select(r => r.Group)).Distinct().ToList();
        var arms = study.Arms.Select(a => a.Arm).Concat(results.Select(r => r.Arm)).Distinct().ToList();
        var sb = new StringBuilder();
        sb.AppendLine($"| {Esc(study.Name)} | {string.Join(" | ", arms.Select(Esc))} |");
        sb.AppendLine($"| --- | {string.Join(" | ", arms.Select(_ => "---"))} |");
        foreach (var g in groups)
            sb.AppendLine($"| {Esc(g)} | {string.Join(" | ", arms.Select(a => Cell(results.Where(r => r.Group == g && r.Arm == a).ToList())))} |");
        return sb.ToString();
    }

    /// <summary>"91.20 ± 1.30 % (3)": test accuracy in percent; with episodes, the mean's 95 % interval instead.</summary>
    public static string Cell(IReadOnlyList<StudyResult> results)
    {
        if (results.Count == 0) return "–";
        var variants = results.GroupBy(r => r.Variant).ToList();
        var chosen = variants.OrderByDescending(v => v.Average(r => r.BestValAccuracy)).First().ToList();
        var acc = chosen.Select(r => r.TestAccuracy * 100).ToList();
        var mean = acc.Average();
        string spread = chosen is [{ Interval95: { } ci, Episodes: { } n }]
            ? $"{mean.ToString("0.00", Inv)} ± {(ci * 100).ToString("0.00", Inv)} % (95 % CI, {n} episodes)"
            : $"{mean.ToString("0.00", Inv)} ± {Std(acc).ToString("0.00", Inv)} % ({acc.Count})";
        return variants.Count > 1 ? $"{spread}, {chosen[0].Variant}" : spread;
    }

    /// <summary>Sample standard deviation (n − 1); 0 for a single value.</summary>
    public static double Std(IReadOnlyList<double> v)
    {
        if (v.Count < 2) return 0;
        var m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Count - 1));
    }

    static string Esc(string s) => s.Replace("|", "\\|");
}
