namespace ModelZoo.Core.Recommender;

/// <summary>The recommender's arithmetic: the stratified subset the probe sees, the ranking, the Pareto front, and the
/// rank correlation that says how far a probe's ranking can be trusted (docs/benchmarks.md).</summary>
public static class BackboneRanking
{
    /// <summary>Up to <paramref name="perClass"/> indices of each class from <paramref name="pool"/>, a seeded draw,
    /// returned in index order (so the feature cache reads them in order).</summary>
    public static int[] Stratified(IReadOnlyList<int> pool, IReadOnlyList<int> labels, int perClass, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perClass);
        var rng = new Random(seed);
        return pool.OrderBy(_ => rng.Next()).GroupBy(i => labels[i]).SelectMany(g => g.Take(perClass)).Order().ToArray();
    }

    /// <summary>
    /// Marks the Pareto front and the budget, and ranks: backbones within the budget (or all, without one) by probe
    /// accuracy, the faster first on a tie, those never timed after the timed ones. A backbone whose latency was never
    /// measured is ranked only when there is no budget: with one, nobody can say it fits.
    /// </summary>
    public static IReadOnlyList<BackboneScore> Rank(IReadOnlyList<BackboneScore> scores, double? budgetMs)
    {
        bool Dominated(BackboneScore s) => scores.Any(o => o != s && o.Probe is not null && o.LatencyMs is not null
            && o.Probe.Accuracy >= s.Probe!.Accuracy && o.LatencyMs <= s.LatencyMs
            && (o.Probe.Accuracy > s.Probe.Accuracy || o.LatencyMs < s.LatencyMs));
        var marked = scores.Select(s => s with
        {
            OnParetoFront = s.Probe is not null && s.LatencyMs is not null && !Dominated(s),
            WithinBudget = budgetMs is null || s.LatencyMs is null ? null : s.LatencyMs <= budgetMs,
            Rank = null,
        }).ToList();
        var eligible = marked.Where(s => s.Probe is not null && (budgetMs is null || s.WithinBudget == true))
            .OrderByDescending(s => s.Probe!.Accuracy).ThenBy(s => s.LatencyMs ?? double.PositiveInfinity).ThenBy(s => s.ModelId, StringComparer.Ordinal)
            .Select((s, i) => s with { Rank = i + 1 }).ToList();
        var rest = marked.Where(s => !eligible.Any(e => e.ModelId == s.ModelId))
            .OrderByDescending(s => s.Probe?.Accuracy ?? -1).ThenBy(s => s.ModelId, StringComparer.Ordinal);
        return eligible.Concat(rest).ToList();
    }

    /// <summary>Spearman's ρ: Pearson's correlation of the ranks, tied values sharing their mean rank. Null for fewer than
    /// three pairs or a constant side, where it says nothing.</summary>
    public static double? Spearman(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"{a.Count} and {b.Count} values: Spearman's ρ needs pairs.");
        if (a.Count < 3) return null;
        double[] ra = Ranks(a), rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < ra.Length; i++)
        {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return saa == 0 || sbb == 0 ? null : sab / Math.Sqrt(saa * sbb);
    }

    /// <summary>1-based ranks in ascending order, ties at their mean rank.</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            var mean = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = mean;
            start = end + 1;
        }
        return ranks;
    }
}
