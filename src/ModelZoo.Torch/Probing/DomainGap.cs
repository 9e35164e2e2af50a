using ModelZoo.Core.DomainGap;
using ModelZoo.Torch.Training;

namespace ModelZoo.Torch.Probing;

/// <summary>
/// The proxy A-distance and the MMD between two sets of feature vectors (row-major <c>[n, dim]</c>). Features are
/// standardised with the training half's per-dimension mean and deviation before the domain classifier, so the
/// logistic regression's steps mean the same on every backbone; the MMD reads the raw features.
/// </summary>
public static class DomainGap
{
    public const int ClassifierSteps = 300;
    public const double ClassifierLearningRate = 0.05;

    public static DomainGapMeasures Measure(float[] source, float[] target, int dim, int seed)
    {
        int ns = source.Length / dim, nt = target.Length / dim;
        if (ns < 4 || nt < 4) throw new ArgumentException($"Each domain needs at least 4 examples to measure a gap ({ns} and {nt} given).");
        if (source.Length != ns * dim || target.Length != nt * dim) throw new ArgumentException("Feature arrays must hold whole rows of the given width.");
        var (error, _) = DomainClassifierError(source, target, dim, seed);
        var (mmd2, sigma) = Mmd2(source, target, dim);
        return new DomainGapMeasures(2 * (1 - 2 * error), error, mmd2, sigma, ns, nt, dim);
    }

    /// <summary>A linear domain classifier (logistic regression, <see cref="LinearProbe"/>) trained on a seeded half of
    /// each domain and tested on the other half; its error, balanced over the two domains.</summary>
    public static (double Error, int Tested) DomainClassifierError(float[] source, float[] target, int dim, int seed)
    {
        int ns = source.Length / dim, nt = target.Length / dim;
        var rng = new Random(seed);
        var s = Enumerable.Range(0, ns).OrderBy(_ => rng.Next()).ToArray();
        var t = Enumerable.Range(0, nt).OrderBy(_ => rng.Next()).ToArray();
        var trainRows = s.Take(ns / 2).Select(i => (source, i, 0)).Concat(t.Take(nt / 2).Select(i => (target, i, 1))).ToList();
        var testRows = s.Skip(ns / 2).Select(i => (source, i, 0)).Concat(t.Skip(nt / 2).Select(i => (target, i, 1))).ToList();
        var x = Rows(trainRows, dim);
        var xt = Rows(testRows, dim);
        FeatureStandardisation.Apply(x, dim, xt);
        var head = LinearProbe.Fit(x, trainRows.Select(r => r.Item3).ToArray(), dim, classes: 2, ClassifierSteps, ClassifierLearningRate);
        var predicted = head.Predict(xt);
        // Balanced: each domain's error counts half, so unequal sample sizes do not make a majority guess look good.
        double wrongS = 0, wrongT = 0; int countS = 0, countT = 0;
        for (int i = 0; i < testRows.Count; i++)
        {
            var truth = testRows[i].Item3;
            if (truth == 0) { countS++; if (predicted[i] != 0) wrongS++; }
            else { countT++; if (predicted[i] != 1) wrongT++; }
        }
        return ((wrongS / countS + wrongT / countT) / 2, testRows.Count);
    }

    /// <summary>Unbiased MMD² with a Gaussian kernel exp(−‖a−b‖²/(2σ²)), σ the median pairwise distance of the pooled sample.</summary>
    public static (double Mmd2, double Sigma) Mmd2(float[] source, float[] target, int dim)
    {
        int ns = source.Length / dim, nt = target.Length / dim;
        var pooled = new List<(float[] A, int I)>();
        pooled.AddRange(Enumerable.Range(0, ns).Select(i => (source, i)));
        pooled.AddRange(Enumerable.Range(0, nt).Select(i => (target, i)));
        var distances = new List<double>(pooled.Count * (pooled.Count - 1) / 2);
        for (int i = 0; i < pooled.Count; i++)
            for (int j = i + 1; j < pooled.Count; j++) distances.Add(Squared(pooled[i].A, pooled[i].I, pooled[j].A, pooled[j].I, dim));
        distances.Sort();
        var medianSquared = distances.Count == 0 ? 1 : distances[distances.Count / 2];
        var sigma2 = medianSquared > 0 ? medianSquared : 1;
        double Kernel(float[] a, int i, float[] b, int j) => Math.Exp(-Squared(a, i, b, j, dim) / (2 * sigma2));
        double kss = 0, ktt = 0, kst = 0;
        for (int i = 0; i < ns; i++) for (int j = 0; j < ns; j++) if (i != j) kss += Kernel(source, i, source, j);
        for (int i = 0; i < nt; i++) for (int j = 0; j < nt; j++) if (i != j) ktt += Kernel(target, i, target, j);
        for (int i = 0; i < ns; i++) for (int j = 0; j < nt; j++) kst += Kernel(source, i, target, j);
        var mmd2 = kss / (ns * (ns - 1.0)) + ktt / (nt * (nt - 1.0)) - 2 * kst / ((double)ns * nt);
        return (mmd2, Math.Sqrt(sigma2));
    }

    static double Squared(float[] a, int i, float[] b, int j, int dim)
    {
        double sum = 0;
        var ra = a.AsSpan(i * dim, dim);
        var rb = b.AsSpan(j * dim, dim);
        for (int k = 0; k < dim; k++) { var d = ra[k] - rb[k]; sum += d * d; }
        return sum;
    }

    static float[] Rows(IReadOnlyList<(float[] A, int I, int Y)> rows, int dim)
    {
        var x = new float[rows.Count * dim];
        for (int r = 0; r < rows.Count; r++) Array.Copy(rows[r].A, rows[r].I * dim, x, r * dim, dim);
        return x;
    }
}
