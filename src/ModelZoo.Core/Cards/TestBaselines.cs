using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Cards;

/// <summary>
/// What a model must beat to have learnt anything, on the run's own test split: always answering the largest class
/// (the majority-class baseline) and a uniform guess (chance). Counted from the recorded confusion matrix, whose rows
/// are the test split's true classes. An imbalanced test split makes the majority baseline the one that matters: an
/// icon set's feature-extraction run scored 50.0 % where the largest class alone gives 51.8 % (issue 13).
/// </summary>
public sealed record TestBaselines(double Majority, string MajorityClass, double Chance)
{
    /// <summary>Null when the run recorded no confusion matrix (or an empty one) to count from.</summary>
    public static TestBaselines? Of(RunResult r)
    {
        var classes = r.ClassNames.Count;
        if (classes == 0 || r.ConfusionMatrix.Count != classes) return null;
        var support = r.ConfusionMatrix.Select(row => row.Sum(x => (long)x)).ToArray();
        var total = support.Sum();
        if (total == 0) return null;
        // The first of the largest classes, so the name is stable when two tie.
        var largest = Array.IndexOf(support, support.Max());
        return new TestBaselines((double)support[largest] / total, r.ClassNames[largest], 1.0 / classes);
    }

    /// <summary>Strictly better than always answering the largest class.</summary>
    public bool Beaten(double testAccuracy) => testAccuracy > Majority;
}
