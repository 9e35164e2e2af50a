namespace ModelZoo.Core.Runs;

/// <summary>Precision, recall and F1 of one class, with its number of true examples (support).</summary>
public sealed record ClassScores(string Class, double Precision, double Recall, double F1, int Support);

/// <summary>One bin of a reliability diagram: predictions whose top probability fell in [Lower, Upper).</summary>
public sealed record CalibrationBin(double Lower, double Upper, int Count, double MeanConfidence, double Accuracy);

/// <summary>Expected calibration error over equal-width confidence bins, and the bins themselves (the diagram).</summary>
public sealed record Calibration(double Ece, IReadOnlyList<CalibrationBin> Bins);

/// <summary>
/// Test-split metrics from a confusion matrix and per-prediction confidences. Kept apart from the trainer so the
/// formulas are tested on hand-made numbers.
/// </summary>
public static class ClassificationMetrics
{
    /// <summary>Guo et al. (2017) use 15 bins; so do most calibration reports.</summary>
    public const int CalibrationBins = 15;

    /// <summary>Per-class precision, recall and F1 (0 where undefined: no prediction or no example of the class, as
    /// scikit-learn's zero_division=0), rows are true classes.</summary>
    public static IReadOnlyList<ClassScores> PerClass(IReadOnlyList<string> classes, IReadOnlyList<IReadOnlyList<int>> confusion)
    {
        var n = classes.Count;
        var scores = new List<ClassScores>(n);
        for (int c = 0; c < n; c++)
        {
            int tp = confusion[c][c];
            int support = confusion[c].Sum();
            int predicted = 0;
            for (int r = 0; r < n; r++) predicted += confusion[r][c];
            double precision = predicted == 0 ? 0 : (double)tp / predicted;
            double recall = support == 0 ? 0 : (double)tp / support;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            scores.Add(new ClassScores(classes[c], precision, recall, f1, support));
        }
        return scores;
    }

    /// <summary>Unweighted mean F1 over the classes that have test examples.</summary>
    public static double MacroF1(IReadOnlyList<ClassScores> perClass)
    {
        var present = perClass.Where(s => s.Support > 0).ToList();
        return present.Count == 0 ? 0 : present.Average(s => s.F1);
    }

    /// <summary>Accumulates (confidence, correct) pairs into equal-width bins.</summary>
    public sealed class CalibrationAccumulator(int bins = CalibrationBins)
    {
        readonly int[] _count = new int[bins];
        readonly double[] _confidence = new double[bins];
        readonly int[] _correct = new int[bins];

        public void Add(double confidence, bool correct)
        {
            // A confidence of exactly 1 belongs to the last bin.
            var b = Math.Clamp((int)(confidence * bins), 0, bins - 1);
            _count[b]++;
            _confidence[b] += confidence;
            if (correct) _correct[b]++;
        }

        /// <summary>ECE = Σ (n_b / N) · |accuracy_b − confidence_b|.</summary>
        public Calibration Result()
        {
            var total = _count.Sum();
            double ece = 0;
            var list = new List<CalibrationBin>(bins);
            for (int b = 0; b < bins; b++)
            {
                var conf = _count[b] == 0 ? 0 : _confidence[b] / _count[b];
                var acc = _count[b] == 0 ? 0 : (double)_correct[b] / _count[b];
                if (total > 0) ece += (double)_count[b] / total * Math.Abs(acc - conf);
                list.Add(new CalibrationBin((double)b / bins, (double)(b + 1) / bins, _count[b], conf, acc));
            }
            return new Calibration(ece, list);
        }
    }
}
