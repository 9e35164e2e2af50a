using ModelZoo.Core.Cards;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Tests.Cards;

public class SeedAnalysisTests
{
    static RunResult Result(double accuracy, double recall0) => new()
    {
        TestAccuracy = accuracy, MacroF1 = accuracy - 0.01, ClassNames = ["cat", "dog"],
        PerClass = [new ClassScores("cat", 0.9, recall0, 0.8, 10), new ClassScores("dog", 0.9, 0.7, 0.75, 10)],
    };

    [Fact]
    public void TheInterval_IsStudentsT_OverTheSeeds()
    {
        var m = SeedMean.Of([0.90, 0.92, 0.94])!;
        m.Mean.ShouldBe(0.92, 1e-12);
        // sd 0.02, t(2) = 4.303: 4.303 × 0.02 / √3
        m.HalfWidth.ShouldBe(4.303 * 0.02 / Math.Sqrt(3), 1e-12);
        m.N.ShouldBe(3);
        SeedMean.Of([0.9]).ShouldBeNull("one seed has no spread");
        SeedMean.Of([0.9, double.NaN]).ShouldBeNull("a missing value is not a seed");
        SeedMean.TCritical(40).ShouldBe(1.96);
    }

    [Fact]
    public void TheSection_ReportsTheCellsSeeds_WithIntervalsPerMetricAndPerClass()
    {
        var section = SeedAnalysis.Section("resnet18 × full fine-tune", [(2, Result(0.90, 0.80)), (1, Result(0.94, 0.84))])!;
        section.ShouldStartWith(SeedAnalysis.Heading);
        section.ShouldContain("one of 2 succeeded seeds (1, 2)");
        section.ShouldContain("| test accuracy | 92.00 % |");
        // sd 0.02828, t(1) = 12.706: half-width 12.706 × 0.02828 / √2 = 25.41 points
        section.ShouldContain("(± 25.41 points) | 2 |");
        section.ShouldContain("| cat | 82.00 % |");
        SeedAnalysis.Section("x", [(1, Result(0.9, 0.8))]).ShouldBeNull();
    }

    [Fact]
    public void Composed_ItComesAfterTheGeneratedSections_AndBeforeEthicalConsiderations()
    {
        var section = SeedAnalysis.Section("m × s", [(1, Result(0.90, 0.80)), (2, Result(0.94, 0.84))])!;
        var md = CardComposer.Compose("# t\n\nintro\n\n## Results\n\nx\n\n## Training procedure\n\ny\n\n## Limitations\n\n- z\n", null, section);
        var analyses = md.IndexOf(SeedAnalysis.Heading);
        analyses.ShouldBeGreaterThan(md.IndexOf("## Training procedure"));
        analyses.ShouldBeLessThan(md.IndexOf(CardComposer.EthicalHeading));
        md.IndexOf(CardComposer.EthicalHeading).ShouldBeLessThan(md.IndexOf("## Limitations"));
    }
}
