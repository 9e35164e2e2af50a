using ModelZoo.Core.Catalog;

namespace ModelZoo.Core.Tests.Catalog;

public class LatencyStatsTests
{
    static readonly double[] Ten = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];

    [Fact]
    public void P90_IsTheNearestRankMeasurement_NotAnInterpolation() => LatencyStats.Percentile(Ten, 90).ShouldBe(9);

    [Fact]
    public void Median_OfAnEvenCount_IsTheMeanOfTheMiddleTwo() => LatencyStats.Median(Ten).ShouldBe(5.5);

    [Fact]
    public void Percentiles_OfOneValue_AreThatValue()
    {
        LatencyStats.Percentile([3.5], 90).ShouldBe(3.5);
        LatencyStats.Median([3.5]).ShouldBe(3.5);
    }

    [Fact]
    public void Percentiles_OfNothing_AreNaN() => double.IsNaN(LatencyStats.Percentile([], 90)).ShouldBeTrue();

    [Theory]
    [InlineData(null, false)]
    [InlineData(5.0, false)]
    [InlineData(20.0, false)]
    [InlineData(35.0, true)]
    public void AMeasurement_IsFlaggedBusy_OnlyWhenOtherProcessesTookMoreThanAFifthOfTheCpu(double? other, bool busy) =>
        new LatencyMeasurement { OtherCpuPercent = other }.TakenOnABusyMachine.ShouldBe(busy);
}
