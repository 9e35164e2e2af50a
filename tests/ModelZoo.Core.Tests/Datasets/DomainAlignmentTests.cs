using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Tests.Datasets;

public class DomainAlignmentTests
{
    static LoadedDataset Set(string id, string[] classes, int[] labels, SplitIndices split) =>
        new(new DatasetInfo { Id = id, ClassNames = classes },
            new ImageSet { Width = 1, Height = 1, Channels = 1, Pixels = new byte[labels.Length], Labels = labels, ClassNames = classes }, split);

    [Fact]
    public void Align_KeepsTheTargetsClasses_AndHidesTheTargetsTrainingLabels()
    {
        // Source: classes a, 1, 0 (a is not in the target); target: 0, 1.
        var source = Set("glyphs", ["a", "1", "0"], [0, 1, 2, 0, 1, 2], new SplitIndices(1, [0, 1, 2], [3, 4], [5]));
        var target = Set("mnist", ["0", "1"], [0, 1, 0, 1, 0, 1], new SplitIndices(1, [0, 1, 2, 3], [4], [5]));
        var (s, t) = DomainAlignment.Align(source, target);

        s.Info.ClassNames.ShouldBe(["0", "1"], "the target's class order");
        s.Images!.Labels.ShouldBe([-1, 1, 0, -1, 1, 0]);
        s.Split.Train.ShouldBe([1, 2], "the class 'a' example left the split");
        s.Split.Validation.ShouldBe([4]);
        s.Info.ClassCounts.ShouldBe([2, 2]);
        s.Info.TrainClassCounts.ShouldBe([1, 1], "the aligned training split's count per class");
        t.Images!.Labels.ShouldBe([-1, -1, -1, -1, 0, 1], "training labels are gone; validation and test keep theirs");
        target.Images!.Labels.ShouldBe([0, 1, 0, 1, 0, 1], "the loaded dataset itself is untouched");
        ReferenceEquals(s.Images.Pixels, source.Images!.Pixels).ShouldBeTrue("no pixels are copied");
    }

    [Fact]
    public void Align_RefusesATargetClassTheSourceLacks() =>
        Should.Throw<InvalidOperationException>(() => DomainAlignment.Align(
            Set("a", ["x"], [0], new SplitIndices(1, [0], [], [])), Set("b", ["y"], [0], new SplitIndices(1, [0], [], []))))
            .Message.ShouldContain("has no class 'y'");
}
