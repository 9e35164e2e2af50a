using ModelZoo.Core.Recommender;

namespace ModelZoo.Core.Tests.Recommender;

public class BackboneRankingTests
{
    static BackboneScore Score(string id, double? accuracy, double? latencyMs) =>
        new(id, "arch", 1000, accuracy is { } a ? new ProbeMeasure(a, 20, 20, 8, 40, 1) : null, latencyMs, latencyMs is null ? null : 1, false,
            accuracy is null ? "could not load" : null);

    [Fact]
    public void Stratified_TakesUpToNPerClass_FromThePoolOnly_SameDrawForTheSameSeed()
    {
        int[] labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0];
        int[] pool = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];  // 10 and 11 are elsewhere (a test split)
        var picked = BackboneRanking.Stratified(pool, labels, 2, seed: 3);
        picked.GroupBy(i => labels[i]).Select(g => g.Count()).ShouldBe([2, 2, 2], ignoreOrder: true);
        picked.ShouldAllBe(i => pool.Contains(i));
        picked.ShouldBe(picked.Order().ToArray(), "in index order, as the feature cache reads");
        BackboneRanking.Stratified(pool, labels, 2, seed: 3).ShouldBe(picked);
        BackboneRanking.Stratified(pool, labels, 100, seed: 3).Length.ShouldBe(10, "a class with fewer examples gives all it has");
    }

    [Fact]
    public void Rank_OrdersByProbeAccuracy_WithinTheBudget_AndMarksTheParetoFront()
    {
        var ranked = BackboneRanking.Rank(
        [
            Score("big", 0.95, 80),     // most accurate, over the budget
            Score("mid", 0.90, 20),
            Score("small", 0.80, 5),
            Score("worse", 0.78, 30),   // dominated by mid and small
            Score("untimed", 0.99, null),
            Score("broken", null, 3),
        ], budgetMs: 50);

        ranked.Select(s => (s.ModelId, s.Rank)).Take(2).ShouldBe([("mid", (int?)1), ("small", 2)]);
        ranked.Single(s => s.ModelId == "worse").Rank.ShouldBe(3);
        ranked.Single(s => s.ModelId == "big").Rank.ShouldBeNull("over the budget");
        ranked.Single(s => s.ModelId == "big").WithinBudget.ShouldBe(false);
        ranked.Single(s => s.ModelId == "untimed").Rank.ShouldBeNull("nobody can say it fits a budget");
        ranked.Single(s => s.ModelId == "untimed").WithinBudget.ShouldBeNull();
        ranked.Single(s => s.ModelId == "broken").Rank.ShouldBeNull();
        ranked.Where(s => s.OnParetoFront).Select(s => s.ModelId).ShouldBe(["big", "mid", "small"], ignoreOrder: true);
    }

    [Fact]
    public void Rank_WithoutABudget_RanksEveryProbedBackbone_TheFasterFirstOnATie()
    {
        var ranked = BackboneRanking.Rank([Score("slow", 0.9, 40), Score("fast", 0.9, 10), Score("untimed", 0.5, null)], budgetMs: null);
        ranked.Select(s => s.ModelId).ShouldBe(["fast", "slow", "untimed"]);
        ranked.Select(s => s.Rank).ShouldBe([1, 2, 3]);
        ranked.ShouldAllBe(s => s.WithinBudget == null);
    }

    [Fact]
    public void Spearman_MatchesScipysDocumentedExample_WithATie()
    {
        // scipy.stats.spearmanr's documentation example: spearmanr([1,2,3,4,5], [5,6,7,8,7]) gives 0.8207826816681233.
        BackboneRanking.Spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])!.Value.ShouldBe(0.8207826816681233, 1e-12);
        BackboneRanking.Spearman([1, 2, 3], [30, 20, 10])!.Value.ShouldBe(-1, 1e-12);
        BackboneRanking.Spearman([1, 2], [1, 2]).ShouldBeNull("two pairs say nothing");
        BackboneRanking.Spearman([1, 1, 1], [1, 2, 3]).ShouldBeNull("a constant side has no ranking");
        BackboneRanking.Ranks([10, 30, 20, 30]).ShouldBe([1, 3.5, 2, 3.5]);
    }
}
