using System.CommandLine;
using ModelZoo.Cli.Studies;
using ModelZoo.Core.Runs;

namespace ModelZoo.Cli.Tests.Studies;

/// <summary>The study command's plumbing: the table's arithmetic and choices, and results kept across interrupted runs.</summary>
public sealed class StudyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-study-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } }

    static StudyResult R(string group, string arm, double test, double val, int seed, string variant = "") =>
        new() { Study = "s", Group = group, Arm = arm, Variant = variant, TestAccuracy = test, BestValAccuracy = val, Seed = seed };

    [Fact]
    public void TheTable_ShowsMeanAndSampleStd_PerGroupAndArm()
    {
        var study = new Study("s", "S", "?", [], []);
        var table = StudyTable.Render(study, [R("10/class", "FE", 0.90, 0.9, 1), R("10/class", "FE", 0.92, 0.9, 2), R("10/class", "FE", 0.94, 0.9, 3), R("100/class", "scratch", 0.5, 0.5, 1)]);
        table.ShouldContain("| 10/class | 92.00 ± 2.00 % (3) | – |");
        table.ShouldContain("| 100/class | – | 50.00 ± 0.00 % (1) |");
        StudyTable.Std([1, 2, 3, 4]).ShouldBe(Math.Sqrt(5.0 / 3), 1e-12);
    }

    /// <summary>An arm tried at several learning rates is shown at the rate with the best mean validation accuracy,
    /// even where another rate happened to test better: the test split never chooses.</summary>
    [Fact]
    public void ACellWithSeveralSettings_ShowsTheOneValidationChose_NotTheBestTest()
    {
        var cell = StudyTable.Cell([
            R("g", "a", test: 0.80, val: 0.85, seed: 1, "lr 1e-3"), R("g", "a", test: 0.82, val: 0.87, seed: 2, "lr 1e-3"),
            R("g", "a", test: 0.95, val: 0.70, seed: 1, "lr 1e-2"), R("g", "a", test: 0.96, val: 0.72, seed: 2, "lr 1e-2")]);
        cell.ShouldBe("81.00 ± 1.41 % (2), lr 1e-3");
    }

    [Fact]
    public void AnEpisodeCell_GivesTheIntervalOverItsEpisodes() =>
        StudyTable.Cell([R("g", "prototypes", 0.6543, 0, 1) with { Interval95 = 0.0081, Episodes = 600 }])
            .ShouldBe("65.43 ± 0.81 % (95 % CI, 600 episodes)");

    /// <summary>Results are appended as they come; a second invocation runs only what is missing.</summary>
    [Fact]
    public async Task AnInterruptedStudy_ContinuesWhereItStopped()
    {
        var calls = new List<int[]>();
        var study = new Study("custom", "Custom", "?", [], [])
        {
            Custom = (_, seeds, _, _) =>
            {
                calls.Add(seeds);
                return Task.FromResult<IReadOnlyList<StudyResult>>(seeds.Select(s => R("g", "a", 0.5 + s / 10.0, 0, s) with { Study = "custom" }).ToList());
            },
        };
        var path = Path.Combine(_dir, "custom.jsonl");
        using var context = new StudyContext(Path.Combine(_dir, "data"), threads: 1);
        (await StudyRunner.RunAsync(study, context, [1, 2], path, null, TextWriter.Null, CancellationToken.None)).Count.ShouldBe(2);
        var all = await StudyRunner.RunAsync(study, context, [1, 2, 3], path, null, TextWriter.Null, CancellationToken.None);
        calls.Select(c => string.Join(",", c)).ShouldBe(["1,2", "3"]);
        all.Select(r => r.Seed).Order().ShouldBe([1, 2, 3]);
        StudyRunner.Read(path).Count.ShouldBe(3);
    }

    /// <summary>A study that needs imported weights fetches them through the portal's own fetch (the NuGet client;
    /// the test project's PackageDownload already put ML.NET's ResNet-18 in the packages folder), once.</summary>
    [Fact]
    public async Task AStudysWeights_AreFetchedThroughThePortalsFetch_Once()
    {
        var entryId = ModelZoo.Cli.Studies.Studies.Find("imagenet-small")!.Weights.ShouldHaveSingleItem();
        var study = new Study("weights", "Weights", "?", [], [])
        {
            Weights = [entryId],
            Custom = (_, _, _, _) => Task.FromResult<IReadOnlyList<StudyResult>>([]),
        };
        using var context = new StudyContext(Path.Combine(_dir, "data"), threads: 1);
        var catalog = context.Get<ModelZoo.Infrastructure.Catalog.ZooCatalog>();
        catalog.Find(entryId)!.Weights.ShouldBe(ModelZoo.Core.Catalog.WeightsAvailability.FetchToEnable);

        var first = new StringWriter();
        await StudyRunner.RunAsync(study, context, [1], Path.Combine(_dir, "w.jsonl"), null, first, CancellationToken.None);
        first.ToString().ShouldContain($"weights {entryId}: fetching Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 with the NuGet client");
        catalog.Find(entryId)!.Weights.ShouldBe(ModelZoo.Core.Catalog.WeightsAvailability.Available);

        var second = new StringWriter();
        await StudyRunner.RunAsync(study, context, [1], Path.Combine(_dir, "w.jsonl"), null, second, CancellationToken.None);
        second.ToString().ShouldContain($"weights {entryId}: already imported");
    }

    [Fact]
    public async Task AStudysWeights_ForAnEntryWithoutAPackage_StopTheStudy_SayingSo()
    {
        var study = new Study("weights", "Weights", "?", [], [])
        {
            Weights = ["resnet18.tv_in1k"],
            Custom = (_, _, _, _) => Task.FromResult<IReadOnlyList<StudyResult>>([]),
        };
        using var context = new StudyContext(Path.Combine(_dir, "data"), threads: 1);
        var e = await Should.ThrowAsync<InvalidOperationException>(() =>
            StudyRunner.RunAsync(study, context, [1], Path.Combine(_dir, "w.jsonl"), null, TextWriter.Null, CancellationToken.None));
        e.Message.ShouldContain("names no package to fetch them from");
    }

    [Fact]
    public void List_NamesEveryStudy_AndAnUnknownOneIsRefused()
    {
        var output = new StringWriter();
        Program.Run(["study", "list"], new InvocationConfiguration { Output = output, Error = output }).ShouldBe(0);
        foreach (var name in new[] { "images-small", "domain", "few-shot", "text", "imagenet-small", "text-encoders" }) output.ToString().ShouldContain(name + ": ");
        var error = new StringWriter();
        Program.Run(["study", "table", "nothing"], new InvocationConfiguration { Output = error, Error = error }).ShouldBe(ExitCodes.BadInput);
        error.ToString().ShouldContain("no study 'nothing'");
    }

    /// <summary>Every study's runs are valid requests for the portal: the same checks a launch makes.</summary>
    [Fact]
    public void EveryStudyArm_NamesARegisteredStrategy_WithValidOptions()
    {
        foreach (var arm in ModelZoo.Cli.Studies.Studies.All.SelectMany(s => s.Arms))
        {
            var r = arm.Request(1);
            var strategy = ModelZoo.Torch.Training.StrategyRegistry.Default.Find(r.Strategy).ShouldNotBeNull($"{arm.Group}/{arm.Arm}");
            ModelZoo.Core.Strategies.StrategyOptionsReader.Read(strategy, r.Options).Problems.ShouldBeEmpty($"{arm.Group}/{arm.Arm}");
        }
    }
}
