using System.Globalization;
using ModelZoo.Core.Cards;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.DomainGap;

/// <summary>A run of the trio as the report needs it: its place, its status and, once it succeeded, the target's test
/// accuracy.</summary>
public sealed record TrioRun(Guid Id, TrioArm Arm, int Seed, RunStatus Status, double? TestAccuracy)
{
    internal bool Counts => Status == RunStatus.Succeeded && TestAccuracy is { } a && double.IsFinite(a);
}

/// <summary>
/// One arm over its seeds: the mean target test accuracy of the runs that succeeded and its 95 % interval (Student's t,
/// n − 1 degrees of freedom, <see cref="SeedMean"/>; null below two seeds). Failed and cancelled runs are counted, not
/// averaged, as in an experiment grid.
/// </summary>
public sealed record TrioArmResult(TrioArm Arm, IReadOnlyList<TrioRun> Runs, double? Mean, SeedMean? Interval)
{
    public string Label => TrioPlan.Label(Arm);
    public int N => Runs.Count(r => r.Counts);
    public int Planned => Runs.Count;
    public int Finished => Runs.Count(r => r.Status.IsTerminal());
    public int Lost => Runs.Count(r => r.Status is RunStatus.Failed or RunStatus.Cancelled);
    public double? Low => Interval is { } i ? i.Mean - i.HalfWidth : null;
    public double? High => Interval is { } i ? i.Mean + i.HalfWidth : null;
}

/// <summary>
/// The trio's accuracies beside each other and what they say: the share of the source-only → oracle gap that DANN
/// recovers, (DANN − source only) / (oracle − source only), and a plain verdict, including when DANN does not help.
/// Built from plain data, so the page, the API and the tests read the same numbers.
/// </summary>
public sealed record TrioReport(IReadOnlyList<TrioArmResult> Arms, double? Recovered, string Verdict)
{
    public TrioArmResult Arm(TrioArm arm) => Arms.Single(a => a.Arm == arm);
    public int Planned => Arms.Sum(a => a.Planned);
    public int Finished => Arms.Sum(a => a.Finished);
    public bool Pending => Finished < Planned;

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static string Pct(double v) => (v * 100).ToString("0.00", Inv) + " %";
    static string Points(double v) => (v * 100).ToString("0.00", Inv) + " points";

    public static TrioReport Build(IEnumerable<TrioRun> runs)
    {
        var byArm = runs.ToLookup(r => r.Arm);
        var arms = Enum.GetValues<TrioArm>().Select(arm =>
        {
            var armRuns = byArm[arm].OrderBy(r => r.Seed).ToList();
            var values = armRuns.Where(r => r.Counts).Select(r => r.TestAccuracy!.Value).ToList();
            return new TrioArmResult(arm, armRuns, values.Count == 0 ? null : values.Average(), SeedMean.Of(values));
        }).ToList();
        var (recovered, verdict) = Judge(arms.Single(a => a.Arm == TrioArm.SourceOnly), arms.Single(a => a.Arm == TrioArm.Dann),
            arms.Single(a => a.Arm == TrioArm.Oracle), arms.Sum(a => a.Planned - a.Finished));
        return new TrioReport(arms, recovered, verdict);
    }

    static (double? Recovered, string Verdict) Judge(TrioArmResult source, TrioArmResult dann, TrioArmResult oracle, int unfinished)
    {
        var waiting = unfinished > 0 ? $" ({unfinished} of the trio's runs have not finished; the numbers will change.)" : "";
        if (source.Mean is not { } s || dann.Mean is not { } d || oracle.Mean is not { } o)
            return (null, unfinished > 0
                ? $"Waiting for every arm to have a result.{waiting}"
                : "An arm has no succeeded run, so the trio cannot be compared; see the failed runs.");

        var gap = o - s;
        if (gap <= 0)
            return (null, $"The oracle ({Pct(o)}) is no better than source only ({Pct(s)}): on this pair and backbone there is no accuracy " +
                          $"gap for adaptation to recover, so the share DANN recovers is not defined. DANN: {Pct(d)}.{waiting}");

        var recovered = (d - s) / gap;
        var left = $"{Points(o - d)} remain to the oracle.";
        string verdict;
        if (d <= s)
            verdict = $"DANN does not help here: {Pct(d)} against {Pct(s)} without adaptation ({(recovered * 100).ToString("0", Inv)} % of the " +
                      $"gap of {Points(gap)} recovered). {left}";
        else if (dann.Interval is { } di && source.Interval is { } si && di.Mean - di.HalfWidth <= si.Mean + si.HalfWidth)
            verdict = $"DANN's mean is {Points(d - s)} above source only ({(recovered * 100).ToString("0", Inv)} % of the gap of {Points(gap)}), " +
                      $"but the two 95 % intervals overlap: over {Math.Min(dann.N, source.N)} seeds the gain is not told apart from the seeds' noise. {left}";
        else
            verdict = $"DANN recovers {(recovered * 100).ToString("0", Inv)} % of the gap of {Points(gap)} between source only and the oracle. {left}";
        return (recovered, verdict + waiting);
    }
}
