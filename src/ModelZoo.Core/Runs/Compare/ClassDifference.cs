namespace ModelZoo.Core.Runs.Compare;

/// <summary>One class's test scores in two runs (A, then B) and B's change.</summary>
public sealed record ClassDelta(string Class, int Support, double RecallA, double RecallB, double F1A, double F1B)
{
    public double Recall => RecallB - RecallA;
    public double F1 => F1B - F1A;
}

/// <summary>
/// Where two finished runs on the same classes differ, class by class: recall and F1 from their test confusion
/// matrices, and the confusion matrix of B minus A as row shares (so a test split of another size still compares).
/// Runs whose class lists differ are refused with the reason: subtracting their matrices would pair unrelated cells.
/// </summary>
public sealed record ClassDifference(IReadOnlyList<ClassDelta> Classes, IReadOnlyList<IReadOnlyList<double>> ShareDelta)
{
    public static (ClassDifference? Difference, string? Problem) Of(RunResult a, RunResult b)
    {
        if (a.ConfusionMatrix.Count == 0 || b.ConfusionMatrix.Count == 0)
            return (null, "Both runs need a test confusion matrix: pick two finished runs.");
        if (!a.ClassNames.SequenceEqual(b.ClassNames, StringComparer.Ordinal))
            return (null, "The two runs classify different classes, so their matrices cannot be compared cell by cell.");
        var n = a.ClassNames.Count;
        if (a.ConfusionMatrix.Count != n || b.ConfusionMatrix.Count != n || a.ConfusionMatrix.Concat(b.ConfusionMatrix).Any(r => r.Count != n))
            return (null, "A run's confusion matrix does not match its classes.");

        var (sa, sb) = (Shares(a.ConfusionMatrix), Shares(b.ConfusionMatrix));
        var (fa, fb) = (F1s(a.ConfusionMatrix), F1s(b.ConfusionMatrix));
        var classes = Enumerable.Range(0, n)
            .Select(i => new ClassDelta(a.ClassNames[i], b.ConfusionMatrix[i].Sum(), sa[i][i], sb[i][i], fa[i], fb[i])).ToList();
        var delta = Enumerable.Range(0, n).Select(i => (IReadOnlyList<double>)Enumerable.Range(0, n).Select(j => sb[i][j] - sa[i][j]).ToList()).ToList();
        return (new ClassDifference(classes, delta), null);
    }

    /// <summary>Each row divided by its total (a class without test examples: zeros).</summary>
    static double[][] Shares(IReadOnlyList<IReadOnlyList<int>> m) =>
        m.Select(row => { var t = row.Sum(); return row.Select(v => t == 0 ? 0.0 : (double)v / t).ToArray(); }).ToArray();

    /// <summary>F1 per class from the matrix (rows true, columns predicted); 0 where precision and recall are both 0.</summary>
    static double[] F1s(IReadOnlyList<IReadOnlyList<int>> m)
    {
        var n = m.Count;
        var f1 = new double[n];
        for (int i = 0; i < n; i++)
        {
            double tp = m[i][i], actual = m[i].Sum(), predicted = Enumerable.Range(0, n).Sum(r => m[r][i]);
            var (p, r2) = (predicted == 0 ? 0 : tp / predicted, actual == 0 ? 0 : tp / actual);
            f1[i] = p + r2 == 0 ? 0 : 2 * p * r2 / (p + r2);
        }
        return f1;
    }
}
