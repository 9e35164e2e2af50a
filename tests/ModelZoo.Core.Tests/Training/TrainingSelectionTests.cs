using ModelZoo.Core.Training;

namespace ModelZoo.Core.Tests.Training;

public class TrainingSelectionTests
{
    static readonly int[] Labels = [.. Enumerable.Range(0, 300).Select(i => i % 3)];
    static readonly int[] Train = [.. Enumerable.Range(0, 240)];

    [Fact]
    public void LabelBudget_TakesAtMostNPerClass_Stratified_AndTheSameForTheSameSeed()
    {
        var a = TrainingSelection.Select(Train, Labels, labelsPerClass: 10, limit: 0, seed: 7);
        a.Length.ShouldBe(30);
        TrainingSelection.PerClass(a, Labels, 3).ShouldBe([10, 10, 10]);
        a.ShouldBe(TrainingSelection.Select(Train, Labels, 10, 0, 7));
        a.ShouldNotBe(TrainingSelection.Select(Train, Labels, 10, 0, 8), "another seed draws other examples");
        a.ShouldAllBe(i => i < 240, "only training examples");
    }

    [Fact]
    public void LabelBudget_LargerThanAClass_TakesTheWholeClass() =>
        TrainingSelection.Select(Train, Labels, labelsPerClass: 1000, limit: 0, seed: 1).Length.ShouldBe(240);

    [Fact]
    public void EpochOrders_AreSeededByEpoch_SoAResumedRunDrawsTheSame()
    {
        TrainingSelection.EpochOrder(Train, 42, 3).ShouldBe(TrainingSelection.EpochOrder(Train, 42, 3));
        TrainingSelection.EpochOrder(Train, 42, 3).ShouldNotBe(TrainingSelection.EpochOrder(Train, 42, 4));
        TrainingSelection.EpochOrder(Train, 42, 3).Order().ShouldBe(Train);
    }

    [Fact]
    public void BalancedEpochs_DrawEveryClassAboutEquallyOften()
    {
        int[] labels = [.. Enumerable.Range(0, 1000).Select(i => i < 900 ? 0 : 1)];
        var order = TrainingSelection.BalancedEpoch([.. Enumerable.Range(0, 1000)], labels, 1, 1);
        order.Length.ShouldBe(1000);
        order.Count(i => labels[i] == 1).ShouldBeInRange(430, 570, "one class in ten of the data, half of the draws");
    }

    [Fact]
    public void BalancedWeights_AreInverseFrequencies_WithMeanOne() =>
        TrainingSelection.BalancedWeights([90, 10, 0]).ShouldBe([100f / 180, 100f / 20, 0f]);
}
