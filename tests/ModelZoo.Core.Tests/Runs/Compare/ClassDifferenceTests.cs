using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Compare;

namespace ModelZoo.Core.Tests.Runs.Compare;

public class ClassDifferenceTests
{
    static RunResult Result(string[] classes, int[][] m) => new() { ClassNames = classes, ConfusionMatrix = m };

    [Fact]
    public void Recall_F1_AndTheRowShareDifference_ComeFromTheMatrices_AsBMinusA()
    {
        // A: 'a' 8 of 10 right, 'b' 3 of 5; B: 'a' 9 of 10, 'b' 1 of 5 (test splits of the same size, other counts).
        var (d, problem) = ClassDifference.Of(Result(["a", "b"], [[8, 2], [2, 3]]), Result(["a", "b"], [[9, 1], [4, 1]]));
        problem.ShouldBeNull();
        var a = d!.Classes[0];
        (a.RecallA, a.RecallB).ShouldBe((0.8, 0.9));
        a.Recall.ShouldBe(0.1, tolerance: 1e-12);
        // F1 of 'a' in A: precision 8/10, recall 8/10 → 0.8; in B: precision 9/13, recall 0.9 → 2·(9/13·0.9)/(9/13+0.9).
        a.F1A.ShouldBe(0.8, tolerance: 1e-12);
        a.F1B.ShouldBe(2 * (9.0 / 13 * 0.9) / (9.0 / 13 + 0.9), tolerance: 1e-12);
        d.Classes[1].Support.ShouldBe(5);
        d.ShareDelta[1][0].ShouldBe(0.8 - 0.4, tolerance: 1e-12);
        d.ShareDelta.SelectMany(r => r).Select(v => Math.Round(v, 9)).ShouldBe([0.1, -0.1, 0.4, -0.4]);
    }

    [Fact]
    public void AClassWithoutTestExamples_ScoresZero_InsteadOfDividingByZero()
    {
        var (d, _) = ClassDifference.Of(Result(["a", "b"], [[3, 0], [0, 0]]), Result(["a", "b"], [[2, 1], [0, 0]]));
        d!.Classes[1].RecallA.ShouldBe(0);
        d.Classes[1].F1B.ShouldBe(0);
        double.IsFinite(d.ShareDelta[1][1]).ShouldBeTrue();
    }

    [Fact]
    public void RunsOnOtherClasses_OrWithoutAMatrix_AreRefusedWithTheReason()
    {
        ClassDifference.Of(Result(["a", "b"], [[1, 0], [0, 1]]), Result(["a", "c"], [[1, 0], [0, 1]])).Problem!.ShouldContain("different classes");
        ClassDifference.Of(Result(["a", "b"], [[1, 0], [0, 1]]), new RunResult { ClassNames = ["a", "b"] }).Problem!.ShouldContain("finished runs");
        ClassDifference.Of(Result(["a", "b"], [[1, 0]]), Result(["a", "b"], [[1, 0], [0, 1]])).Problem!.ShouldContain("does not match");
    }
}
