namespace ModelZoo.Torch.Probing;

/// <summary>
/// Per-feature standardisation for the linear probes (the domain classifier, the recommender's probe): each feature
/// less the training rows' mean, over their deviation, so the probe's steps mean the same on every backbone. A
/// constant feature (deviation 0) becomes 0. Features are row-major <c>[n, dim]</c>.
/// </summary>
public static class FeatureStandardisation
{
    /// <summary>Standardises <paramref name="train"/> and every array in <paramref name="others"/> in place with the
    /// training rows' statistics.</summary>
    public static void Apply(float[] train, int dim, params float[][] others)
    {
        int n = train.Length / dim;
        var mean = new double[dim];
        var sq = new double[dim];
        for (int r = 0; r < n; r++)
            for (int k = 0; k < dim; k++) { var v = train[r * dim + k]; mean[k] += v; sq[k] += (double)v * v; }
        var scale = new double[dim];
        for (int k = 0; k < dim; k++)
        {
            mean[k] /= n;
            var variance = Math.Max(0, sq[k] / n - mean[k] * mean[k]);
            scale[k] = variance > 1e-12 ? 1 / Math.Sqrt(variance) : 0;
        }
        foreach (var a in others.Prepend(train))
            for (int i = 0; i < a.Length; i++) a[i] = (float)((a[i] - mean[i % dim]) * scale[i % dim]);
    }
}
