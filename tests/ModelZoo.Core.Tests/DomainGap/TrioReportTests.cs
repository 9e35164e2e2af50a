using ModelZoo.Core.DomainGap;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Tests.DomainGap;

public class TrioReportTests
{
    static IEnumerable<TrioRun> Arm(TrioArm arm, params double[] accuracies) =>
        accuracies.Select((a, i) => new TrioRun(Guid.NewGuid(), arm, i + 1, RunStatus.Succeeded, a));

    [Fact]
    public void EachArm_HasItsMeanAndStudentsTInterval_OverTheSeeds()
    {
        var report = TrioReport.Build(Arm(TrioArm.SourceOnly, 0.60, 0.62, 0.64).Concat(Arm(TrioArm.Dann, 0.70, 0.72, 0.74))
            .Concat(Arm(TrioArm.Oracle, 0.90, 0.92, 0.94)));
        var source = report.Arm(TrioArm.SourceOnly);
        source.Mean!.Value.ShouldBe(0.62, 1e-12);
        // By hand: sample sd of 0.60, 0.62, 0.64 is 0.02; t(0.975, 2 dof) = 4.303; half-width 4.303 × 0.02 / √3 = 0.049687.
        source.Interval!.HalfWidth.ShouldBe(0.049687, 1e-6);
        source.Low!.Value.ShouldBe(0.570313, 1e-6);
        source.High!.Value.ShouldBe(0.669687, 1e-6);
        (source.N, source.Planned).ShouldBe((3, 3));
        // (0.72 − 0.62) / (0.92 − 0.62) = 1/3.
        report.Recovered!.Value.ShouldBe(1.0 / 3, 1e-12);
        report.Verdict.ShouldBe("DANN recovers 33 % of the gap of 30.00 points between source only and the oracle. 20.00 points remain to the oracle.");
        report.Pending.ShouldBeFalse();
    }

    [Fact]
    public void WhenDannIsBelowSourceOnly_TheVerdictSaysItDoesNotHelp()
    {
        var report = TrioReport.Build(Arm(TrioArm.SourceOnly, 0.60, 0.62, 0.64).Concat(Arm(TrioArm.Dann, 0.50, 0.52, 0.54))
            .Concat(Arm(TrioArm.Oracle, 0.90, 0.92, 0.94)));
        report.Recovered!.Value.ShouldBe(-1.0 / 3, 1e-12);
        report.Verdict.ShouldStartWith("DANN does not help here: 52.00 % against 62.00 % without adaptation (-33 % of the gap of 30.00 points recovered).");
    }

    [Fact]
    public void AGainInsideTheSeedsNoise_IsReportedAsSuch()
    {
        var report = TrioReport.Build(Arm(TrioArm.SourceOnly, 0.60, 0.62, 0.64).Concat(Arm(TrioArm.Dann, 0.61, 0.63, 0.65))
            .Concat(Arm(TrioArm.Oracle, 0.90, 0.92, 0.94)));
        report.Verdict.ShouldContain("the two 95 % intervals overlap");
        report.Verdict.ShouldContain("not told apart from the seeds' noise");
    }

    [Fact]
    public void WithNoGapToRecover_TheShareIsNotDefined()
    {
        var report = TrioReport.Build(Arm(TrioArm.SourceOnly, 0.90, 0.92).Concat(Arm(TrioArm.Dann, 0.91, 0.93)).Concat(Arm(TrioArm.Oracle, 0.88, 0.90)));
        report.Recovered.ShouldBeNull();
        report.Verdict.ShouldContain("no accuracy gap for adaptation to recover");
    }

    [Fact]
    public void FailedAndUnfinishedRuns_AreCountedNotAveraged()
    {
        var runs = Arm(TrioArm.SourceOnly, 0.60, 0.64).Append(new TrioRun(Guid.NewGuid(), TrioArm.SourceOnly, 3, RunStatus.Failed, null))
            .Concat(Arm(TrioArm.Dann, 0.70)).Append(new TrioRun(Guid.NewGuid(), TrioArm.Dann, 2, RunStatus.Running, null))
            .Append(new TrioRun(Guid.NewGuid(), TrioArm.Oracle, 1, RunStatus.Queued, null));
        var report = TrioReport.Build(runs);
        var source = report.Arm(TrioArm.SourceOnly);
        source.Mean!.Value.ShouldBe(0.62, 1e-12);
        (source.N, source.Planned, source.Lost).ShouldBe((2, 3, 1));
        report.Arm(TrioArm.Dann).Interval.ShouldBeNull("one seed has no spread");
        report.Arm(TrioArm.Oracle).Mean.ShouldBeNull();
        report.Recovered.ShouldBeNull();
        report.Pending.ShouldBeTrue();
        report.Verdict.ShouldStartWith("Waiting for every arm to have a result. (2 of the trio's runs have not finished");
    }

    [Fact]
    public void ThePlan_IsSourceOnlyDannAndOracle_ForEachSeed()
    {
        var (runs, errors) = TrioPlan.Build(new DomainGapTrioRequest
        {
            ModelId = "resnet18.tv_in1k", SourceDatasetId = "mnist", TargetDatasetId = "usps", Seeds = [4, 5, 6],
            HyperParameters = new HyperParameters { Epochs = 2, Seed = 99 },
        });
        errors.ShouldBeEmpty();
        runs.Select(r => (r.Arm, r.Seed, r.Request.Strategy, r.Request.DatasetId, r.Request.TargetDatasetId, r.Request.HyperParameters.Seed)).ShouldBe(
        [
            (TrioArm.SourceOnly, 4, "dann", "mnist", "usps", 4), (TrioArm.SourceOnly, 5, "dann", "mnist", "usps", 5), (TrioArm.SourceOnly, 6, "dann", "mnist", "usps", 6),
            (TrioArm.Dann, 4, "dann", "mnist", "usps", 4), (TrioArm.Dann, 5, "dann", "mnist", "usps", 5), (TrioArm.Dann, 6, "dann", "mnist", "usps", 6),
            (TrioArm.Oracle, 4, "full-fine-tune", "usps", null, 4), (TrioArm.Oracle, 5, "full-fine-tune", "usps", null, 5), (TrioArm.Oracle, 6, "full-fine-tune", "usps", null, 6),
        ]);
        runs.Where(r => r.Arm == TrioArm.SourceOnly).ShouldAllBe(r => r.Request.Options!["maxLambda"]!.GetValue<double>() == 0);
        runs.Where(r => r.Arm != TrioArm.SourceOnly).ShouldAllBe(r => r.Request.Options == null);
        runs.ShouldAllBe(r => r.Request.HyperParameters.Epochs == 2);
    }

    [Fact]
    public void ThePlan_RefusesTheSameDatasetTwice_AndTooFewOrRepeatedSeeds()
    {
        TrioPlan.Build(new DomainGapTrioRequest { SourceDatasetId = "mnist", TargetDatasetId = "mnist" }).Errors.Keys.ShouldBe(["TargetDatasetId"]);
        TrioPlan.Build(new DomainGapTrioRequest { SourceDatasetId = "a", TargetDatasetId = "b", Seeds = [1] }).Errors["Seeds"].ShouldContain("at least two");
        TrioPlan.Build(new DomainGapTrioRequest { SourceDatasetId = "a", TargetDatasetId = "b", Seeds = [1, 2, 1] }).Errors["Seeds"].ShouldContain("Seed 1 is listed twice");
    }

    [Fact]
    public void ARunsErrors_LandOnTheTriosFields()
    {
        var (runs, _) = TrioPlan.Build(new DomainGapTrioRequest { ModelId = "m", SourceDatasetId = "a", TargetDatasetId = "b" });
        var oracle = runs.First(r => r.Arm == TrioArm.Oracle);
        var dann = runs.First(r => r.Arm == TrioArm.Dann);
        TrioPlan.ErrorsOf(oracle, new Dictionary<string, string> { ["DatasetId"] = "x" }).Keys.ShouldBe(["TargetDatasetId"]);
        TrioPlan.ErrorsOf(dann, new Dictionary<string, string> { ["DatasetId"] = "x" }).Keys.ShouldBe(["SourceDatasetId"]);
        TrioPlan.ErrorsOf(dann, new Dictionary<string, string> { ["Strategy"] = "DANN reads images" })["ModelId"].ShouldBe("DANN reads images (DANN, seed 1)");
    }
}
