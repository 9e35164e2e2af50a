using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Tests.Datasets;

public class StratifiedSplitterTests
{
    static readonly int[] Labels = Enumerable.Range(0, 1000).Select(i => i % 10).ToArray();

    [Fact]
    public void Split_IsAPartition_OfEveryIndex()
    {
        var s = StratifiedSplitter.Split(Labels, 7);
        s.Train.Concat(s.Validation).Concat(s.Test).Order().ShouldBe(Enumerable.Range(0, 1000));
    }

    [Fact]
    public void Split_KeepsEachClassShare_InEverySplit()
    {
        var s = StratifiedSplitter.Split(Labels, 7);
        foreach (var part in new[] { s.Train, s.Validation, s.Test })
            part.GroupBy(i => Labels[i]).Select(g => g.Count()).Distinct().Count().ShouldBe(1);
        s.Test.Length.ShouldBe(150);
        s.Validation.Length.ShouldBe(150);
    }

    [Fact]
    public void Split_IsDeterministicForASeed_AndDiffersAcrossSeeds()
    {
        StratifiedSplitter.Split(Labels, 7).Test.ShouldBe(StratifiedSplitter.Split(Labels, 7).Test);
        StratifiedSplitter.Split(Labels, 8).Test.ShouldNotBe(StratifiedSplitter.Split(Labels, 7).Test);
    }
}
