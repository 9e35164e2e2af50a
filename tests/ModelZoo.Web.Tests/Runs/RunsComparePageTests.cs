using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The compare page and the runs list's selection against the real run store (see <see cref="ComponentHost"/>).</summary>
public class RunsComparePageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    BunitContext _ctx = default!;
    RunService _runs = default!;
    RunEventRecorder _recorder = default!;
    Guid _a, _b;

    public async Task InitializeAsync()
    {
        _host = await ComponentHost.CreateAsync();
        _ctx = _host.Ctx;
        _runs = _host.Get<RunService>();
        _recorder = _host.Get<RunEventRecorder>();
        _a = await Launch("first");
        _b = await Launch("second");
    }

    async Task<Guid> Launch(string name) => (await _runs.LaunchAsync(new RunRequest
    {
        ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Name = name, HyperParameters = new HyperParameters { Epochs = 2 },
    })).RunId!.Value;

    Task Step(Guid id, int global, double loss) =>
        _recorder.RecordAsync(id, RunEventKind.Step, StepProgress.Of((global + 1) / 2, (global - 1) % 2 + 1, 2, global, 4, loss, 1e-3, 100, null, elapsed: global));

    IRenderedComponent<RunsComparePage> Open(string ids)
    {
        // The page reads ids from the query string, as a link or a typed URL gives them.
        _ctx.Services.GetRequiredService<NavigationManager>().NavigateTo($"/runs/compare?ids={Uri.EscapeDataString(ids)}");
        return _ctx.Render<RunsComparePage>();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Page_OverlaysRunningRuns_AndUpdatesTheirCurvesAndTableLive()
    {
        await _recorder.RecordAsync(_a, RunEventKind.Status, new StatusChange(RunStatus.Running, "Training", "CPU"));
        await Step(_a, 1, 2.0);
        var page = Open($"{_a},{_b}");

        page.FindAll("[data-testid=compare-run]").Select(td => td.TextContent.Trim()).ShouldBe(["first", "second"]);
        page.Find("[data-testid=compare-loss]").GetAttribute("data-traces").ShouldBe("2");
        page.Find("[data-testid=export-csv]").GetAttribute("href").ShouldBe($"/api/runs/compare?ids={_a},{_b}&format=csv");

        // Live: the second run starts and both report an epoch; the table gains the validation accuracy columns.
        await Step(_a, 2, 1.5);
        await _recorder.RecordAsync(_a, RunEventKind.Epoch, EpochMetrics.Of(1, 2, 1.7, 0.5, 1.4, 0.625, 3));
        await _recorder.RecordAsync(_b, RunEventKind.Status, new StatusChange(RunStatus.Running, "Training", "CPU"));
        await Step(_b, 1, 2.2);
        await _recorder.RecordAsync(_b, RunEventKind.Epoch, EpochMetrics.Of(1, 2, 2.0, 0.4, 1.9, 0.375, 3));
        page.WaitForAssertion(() =>
        {
            var text = page.Find("[data-testid=compare-table]").TextContent;
            text.ShouldContain("62.50 %");
            text.ShouldContain("37.50 %");
        }, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Page_SaysWhichIdsAreNotRuns_AndRefusesAMalformedList()
    {
        var unknown = Guid.NewGuid();
        var page = Open($"{_a},{unknown}");
        page.WaitForAssertion(() => page.Find("[data-testid=compare-missing]").TextContent.ShouldContain(unknown.ToString()));
        page.FindAll("[data-testid=compare-run]").Count.ShouldBe(1);

        var bad = Open("1,2");
        bad.WaitForAssertion(() => bad.Find("[data-testid=compare-error]").TextContent.ShouldContain("Not a run id: 1, 2"));
    }

    static void Tick(IRenderedComponent<RunsPage> list, Guid id)
    {
        var el = list.Find($"[data-testid=select-{id}]");
        (el.TagName == "INPUT" ? el : el.QuerySelector("input")!).Change(true);
    }

    [Fact]
    public void RunsList_ComparesTheTickedRuns()
    {
        var list = _ctx.Render<RunsPage>();
        list.WaitForAssertion(() => list.FindAll($"[data-testid=select-{_a}]").Count.ShouldBe(1));
        list.Find("[data-testid=compare]").HasAttribute("disabled").ShouldBeTrue("no run ticked");
        Tick(list, _a);
        list.Find("[data-testid=compare]").HasAttribute("disabled").ShouldBeTrue("one run is no comparison");
        Tick(list, _b);
        list.WaitForAssertion(() => list.Find("[data-testid=compare]").GetAttribute("href").ShouldBe($"/runs/compare?ids={_a},{_b}"));
    }

    async Task Finish(Guid id, RunResult result)
    {
        var dbs = _ctx.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<ModelZoo.Infrastructure.Persistence.ZooDbContext>>();
        await using var db = await dbs.CreateDbContextAsync();
        var r = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.FirstAsync(db.Runs, x => x.Id == id);
        r.Status = RunStatus.Succeeded;
        r.ResultJson = RunJson.Write(result);
        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task FinishedRuns_ShowTheirConfusionMatrices_AndWhatChangesPerClassFromAToB()
    {
        // A gets 'cat' right 4 of 5 times and 'dog' 2 of 5; B the other way round.
        await Finish(_a, new RunResult { TestAccuracy = 0.6, ClassNames = ["cat", "dog"], ConfusionMatrix = [[4, 1], [3, 2]] });
        await Finish(_b, new RunResult { TestAccuracy = 0.6, ClassNames = ["cat", "dog"], ConfusionMatrix = [[2, 3], [1, 4]] });
        var page = Open($"{_a},{_b}");

        page.FindAll("[data-testid=compare-confusion]").Count.ShouldBe(2);
        var rows = page.FindAll("[data-testid=class-difference-table] tbody tr").Select(tr => tr.TextContent).ToList();
        rows[0].ShouldContain("cat", customMessage: "the class B gets worse at comes first");
        rows[0].ShouldContain("80.00 %");
        rows[0].ShouldContain("-40.0");
        rows[1].ShouldContain("+40.0");
        var cells = page.Find("[data-testid=confusion-difference]").QuerySelectorAll("tbody td").Select(td => td.TextContent.Trim()).ToList();
        cells.ShouldBe(["-40.0", "+40.0", "-40.0", "+40.0"]);
        // Both runs share every setting but their names: the parallel view has test accuracy alone, so it is not drawn.
        page.FindAll("[data-testid=compare-parallel]").ShouldBeEmpty();
    }

    [Fact]
    public async Task RunsOnOtherClasses_AreNotSubtracted_AndThePageSaysWhy()
    {
        await Finish(_a, new RunResult { ClassNames = ["cat", "dog"], ConfusionMatrix = [[4, 1], [3, 2]] });
        await Finish(_b, new RunResult { ClassNames = ["ham", "spam"], ConfusionMatrix = [[2, 3], [1, 4]] });
        var page = Open($"{_a},{_b}");
        page.Find("[data-testid=class-difference-problem]").TextContent.ShouldContain("classify different classes");
        page.FindAll("[data-testid=confusion-difference]").ShouldBeEmpty();
    }

    [Fact]
    public async Task FinishedRunsWithOtherSettings_AreDrawnAsParallelCoordinates_OfWhatDiffers()
    {
        var fast = (await _runs.LaunchAsync(new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Name = "fast", HyperParameters = new HyperParameters { Epochs = 2, LearningRate = 1e-2 },
        })).RunId!.Value;
        await Finish(_a, new RunResult { TestAccuracy = 0.6, TestExamples = 10, ClassNames = ["cat", "dog"], ConfusionMatrix = [[4, 1], [3, 2]] });
        await Finish(fast, new RunResult { TestAccuracy = 0.7, TestExamples = 10, ClassNames = ["cat", "dog"], ConfusionMatrix = [[4, 1], [2, 3]] });
        var page = Open($"{_a},{fast},{_b}");
        var parallel = page.Find("[data-testid=compare-parallel]");
        parallel.GetAttribute("data-axes").ShouldBe("learning rate|test accuracy");
        parallel.GetAttribute("data-lines").ShouldBe("2", "the unfinished run has no line");
    }
}
