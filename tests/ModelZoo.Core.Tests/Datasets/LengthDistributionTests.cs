using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Tests.Datasets;

public class LengthDistributionTests
{
    [Fact]
    public void Of_GivesQuantiles_AndNiceBinsThatCountEveryText()
    {
        var d = LengthDistribution.Of(Enumerable.Range(1, 100).ToArray(), targetBins: 10, limit: 90);

        (d.Count, d.Min, d.Median, d.P90, d.P99, d.Max).ShouldBe((100, 1, 51, 91, 100, 100));
        d.Mean.ShouldBe(50.5);
        d.Bins.Select(b => b.To - b.From).Distinct().ShouldBe([10], "100 lengths over about 10 bins: width 10");
        d.Bins[0].ShouldBe(new LengthBin(0, 10, 9));
        d.Bins.Sum(b => b.Count).ShouldBe(100);
        d.Over.ShouldBe(10, "91..100 are over the limit of 90");
        d.Bins.ShouldAllBe(b => !b.Tail);
    }

    [Fact]
    public void Of_GathersALongTail_PastThe99thPercentile_IntoOneBin()
    {
        var lengths = Enumerable.Range(0, 1000).Select(i => 100 + i % 50).Append(160_000).Append(90_000).ToArray();
        var d = LengthDistribution.Of(lengths, targetBins: 20);

        d.Max.ShouldBe(160_000);
        d.Bins[^1].ShouldBe(new LengthBin(d.Bins[^2].To, 160_001, 2, Tail: true));
        d.Bins.Take(d.Bins.Count - 1).ShouldAllBe(b => b.To - b.From == 5, "the regular bins span 100..149 only");
        d.Bins.Sum(b => b.Count).ShouldBe(1002);
    }

    [Fact]
    public void Words_CountsWhitespaceSeparatedRuns()
    {
        LengthDistribution.Words("  two\twords\n").ShouldBe(2);
        LengthDistribution.Words("").ShouldBe(0);
        LengthDistribution.Words("émigré, naïve; ok").ShouldBe(3);
        LengthDistribution.Of([]).Bins.ShouldBeEmpty();
    }
}
