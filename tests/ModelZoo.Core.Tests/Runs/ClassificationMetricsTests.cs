using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Tests.Runs;

public class ClassificationMetricsTests
{
    [Fact]
    public void PerClass_ComputesPrecisionRecallAndF1_FromTheConfusionMatrix()
    {
        // Rows are true classes: a has 8 right and 2 called b; b has 5 right and 5 called a; c is never the truth but predicted once.
        IReadOnlyList<IReadOnlyList<int>> m = [[8, 2, 0], [5, 5, 0], [0, 1, 0]];
        var s = ClassificationMetrics.PerClass(["a", "b", "c"], m);
        s[0].Precision.ShouldBe(8.0 / 13, 1e-12);
        s[0].Recall.ShouldBe(0.8, 1e-12);
        s[0].F1.ShouldBe(2 * (8.0 / 13) * 0.8 / (8.0 / 13 + 0.8), 1e-12);
        s[1].Precision.ShouldBe(5.0 / 8, 1e-12);
        s[1].Recall.ShouldBe(0.5, 1e-12);
        s[2].ShouldBe(new ClassScores("c", 0, 0, 0, 1));
        ClassificationMetrics.MacroF1(s).ShouldBe((s[0].F1 + s[1].F1 + 0) / 3, 1e-12);
    }

    [Fact]
    public void Ece_IsTheCountWeightedGapBetweenAccuracyAndConfidence()
    {
        var acc = new ClassificationMetrics.CalibrationAccumulator(bins: 2);
        // Bin [0, 0.5): two predictions at 0.4, one right: accuracy 0.5, confidence 0.4.
        acc.Add(0.4, true); acc.Add(0.4, false);
        // Bin [0.5, 1]: two at 0.9 and one at exactly 1.0, all right: accuracy 1, confidence 0.9333.
        acc.Add(0.9, true); acc.Add(0.9, true); acc.Add(1.0, true);
        var c = acc.Result();
        c.Bins.Select(b => b.Count).ShouldBe([2, 3]);
        c.Ece.ShouldBe(2.0 / 5 * 0.1 + 3.0 / 5 * (1 - 2.8 / 3), 1e-12);
        new ClassificationMetrics.CalibrationAccumulator().Result().Bins.Count.ShouldBe(15);
    }
}
