namespace ModelZoo.Core.Training;

/// <summary>
/// Which training examples a run uses and in which order, as pure functions of the seed: a resumed run draws the
/// same examples and the same epoch orders as one that never stopped.
/// </summary>
public static class TrainingSelection
{
    /// <summary>A 32-bit seed mixed from several numbers (SplitMix64 steps); never <see cref="HashCode"/>, which is
    /// randomised per process.</summary>
    public static int Seed(params long[] parts)
    {
        ulong z = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts)
        {
            z += unchecked((ulong)p) + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
        }
        return (int)(z & 0x7FFFFFFF);
    }

    /// <summary>
    /// The run's training examples: at most <paramref name="labelsPerClass"/> per class (stratified, seeded), then at
    /// most <paramref name="limit"/> in all (seeded). Sorted, so the selection does not depend on the split's order.
    /// </summary>
    public static int[] Select(int[] train, IReadOnlyList<int> labels, int? labelsPerClass, int limit, int seed)
    {
        IEnumerable<int> chosen = train;
        if (labelsPerClass is > 0 and var k)
        {
            var rng = new Random(Seed(seed, 0x1AB));
            chosen = train.GroupBy(i => labels[i]).OrderBy(g => g.Key)
                .SelectMany(g => { var a = g.ToArray(); rng.Shuffle(a); return a.Take(k); })
                .ToArray();
        }
        var pick = chosen.ToArray();
        if (limit > 0 && limit < pick.Length)
        {
            // The training limit's draw as it always was, so runs with a limit keep their examples.
            new Random(seed ^ 0x5EED).Shuffle(pick);
            pick = pick[..limit];
        }
        Array.Sort(pick);
        return pick;
    }

    /// <summary>Examples per class among <paramref name="indices"/>, for classes 0..classes-1.</summary>
    public static int[] PerClass(int[] indices, IReadOnlyList<int> labels, int classes)
    {
        var counts = new int[classes];
        foreach (var i in indices) if (labels[i] >= 0 && labels[i] < classes) counts[labels[i]]++;
        return counts;
    }

    /// <summary>An epoch's order: a seeded shuffle of the examples.</summary>
    public static int[] EpochOrder(int[] indices, int seed, int epoch, int stream = 0)
    {
        var order = (int[])indices.Clone();
        new Random(Seed(seed, epoch, stream)).Shuffle(order);
        return order;
    }

    /// <summary>An epoch of the class-balanced sampler: as many draws as examples, with replacement, each class
    /// equally likely and each example equally likely within its class.</summary>
    public static int[] BalancedEpoch(int[] indices, IReadOnlyList<int> labels, int seed, int epoch)
    {
        var byClass = indices.GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        var rng = new Random(Seed(seed, epoch, 0xBA1));
        var order = new int[indices.Length];
        for (int i = 0; i < order.Length; i++)
        {
            var c = byClass[rng.Next(byClass.Length)];
            order[i] = c[rng.Next(c.Length)];
        }
        return order;
    }

    /// <summary>Inverse-frequency class weights with mean 1 over the classes present (absent classes get 0).</summary>
    public static float[] BalancedWeights(int[] perClass)
    {
        var present = perClass.Count(n => n > 0);
        var total = perClass.Sum();
        return perClass.Select(n => n == 0 ? 0f : (float)((double)total / (present * n))).ToArray();
    }
}
