namespace ModelZoo.Core.Datasets;

/// <summary>
/// Deterministic, stratified train/validation/test split: each class is shuffled with its own stream derived from
/// the seed, then cut by the fractions, so every class keeps its share in every split and the same seed always
/// gives the same test set.
/// </summary>
public static class StratifiedSplitter
{
    public static SplitIndices Split(IReadOnlyList<int> labels, int seed, double validationFraction = 0.15, double testFraction = 0.15)
    {
        if (validationFraction < 0 || testFraction < 0 || validationFraction + testFraction >= 1)
            throw new ArgumentException("Validation and test fractions must be non-negative and leave room for training.");
        var train = new List<int>(); var val = new List<int>(); var test = new List<int>();
        foreach (var group in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var idx = group.ToArray();
            // System.Random with a seed is stable across .NET versions for the same algorithm (Net5CompatSeedImpl).
            var rng = new Random(unchecked(seed * 1_000_003 + group.Key));
            rng.Shuffle(idx);
            int nTest = (int)Math.Round(idx.Length * testFraction);
            int nVal = (int)Math.Round(idx.Length * validationFraction);
            test.AddRange(idx[..nTest]);
            val.AddRange(idx[nTest..(nTest + nVal)]);
            train.AddRange(idx[(nTest + nVal)..]);
        }
        train.Sort(); val.Sort(); test.Sort();
        return new SplitIndices(seed, [.. train], [.. val], [.. test]);
    }
}
