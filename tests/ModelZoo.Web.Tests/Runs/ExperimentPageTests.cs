using AngleSharp.Dom;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Experiments;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The experiment pages against the real run store (see <see cref="ComponentHost"/>); the worker does not
/// run, so runs are finished by hand as the worker would finish them, with the status events it would record.</summary>
public class ExperimentPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    async Task<ExperimentView> Launch()
    {
        var launch = await _host.Get<ExperimentService>().LaunchAsync(new ExperimentRequest
        {
            Name = "Depths", DatasetId = "tiny", Models = ["resnet18.tv_in1k"],
            Strategies = [new StrategyChoice { Id = "feature-extraction" }, new StrategyChoice { Id = "full-fine-tune" }],
            Seeds = [1, 2], HyperParameters = new HyperParameters { Epochs = 1 },
        });
        launch.Ok.ShouldBeTrue(string.Join(" ", launch.Errors.Values));
        return (await _host.Get<ExperimentService>().GetAsync(launch.ExperimentId!.Value))!;
    }

    async Task Finish(Guid run, RunStatus status, double? accuracy = null)
    {
        await using (var db = await _host.Get<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync())
            await db.Runs.Where(r => r.Id == run).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, status)
                .SetProperty(r => r.ResultJson, accuracy is { } a ? RunJson.Write(new RunResult { TestAccuracy = a, ClassNames = ["a", "b"] }) : null));
        await _host.Get<RunEventRecorder>().RecordAsync(run, RunEventKind.Status, new StatusChange(status, "done"));
    }

    static Guid RunOf(ExperimentView v, int column, int seed) =>
        v.Grid!.Cells[0][column].Runs.Single(r => r.Seed == seed).Id;

    [Fact]
    public async Task TheGrid_ShowsQueuedCells_ThenFillsInLive_WithMeanStdN_AndMarksTheBest()
    {
        var view = await Launch();
        var page = _host.Ctx.Render<ExperimentPage>(p => p.Add(x => x.Id, view.Id));
        page.Find("[data-testid=experiment-progress]").TextContent.ShouldBe("0 of 4 runs finished");
        page.FindAll("[data-testid=grid-column]").Select(c => c.TextContent).ShouldBe(["feature-extraction", "full-fine-tune"]);
        page.Find("[data-testid=cell-0-0] [data-testid=cell-value]").TextContent.ShouldBe("queued");
        page.Find("[data-testid=cell-0-0] a").GetAttribute("href").ShouldBe(
            $"/runs/compare?ids={RunOf(view, 0, 1)},{RunOf(view, 0, 2)}");
        page.Find("[data-testid=experiment-queue]").GetAttribute("href").ShouldBe($"/queue?experiment={view.Id}");

        await Finish(RunOf(view, 0, 1), RunStatus.Succeeded, 0.80);
        await Finish(RunOf(view, 0, 2), RunStatus.Succeeded, 0.90);
        await Finish(RunOf(view, 1, 1), RunStatus.Succeeded, 0.70);
        await Finish(RunOf(view, 1, 2), RunStatus.Failed);
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=experiment-progress]").TextContent.ShouldBe("4 of 4 runs finished");
            page.Find("[data-testid=cell-0-0] [data-testid=cell-value]").TextContent.ShouldBe("85.00 % ± 7.07 %");
            page.Find("[data-testid=cell-0-0] [data-testid=cell-n]").TextContent.Trim().ShouldBe("(n = 2 of 2)");
            page.Find("[data-testid=cell-0-1] [data-testid=cell-value]").TextContent.ShouldBe("70.00 %");
            page.Find("[data-testid=cell-0-1] [data-testid=cell-lost]").TextContent.ShouldBe("1 failed");
            page.Find("[data-testid=cell-0-0]").GetAttribute("data-best").ShouldBe("true");
            page.FindAll("[data-best=true]").Count.ShouldBe(1);
            page.FindAll("[data-testid=cancel-experiment]").ShouldBeEmpty("nothing is left to cancel");
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task CancelExperiment_CancelsItsQueuedRuns()
    {
        var view = await Launch();
        var page = _host.Ctx.Render<ExperimentPage>(p => p.Add(x => x.Id, view.Id));
        page.Find("button[data-testid=cancel-experiment]").Click();
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=experiment-progress]").TextContent.ShouldBe("4 of 4 runs finished");
            page.Find("[data-testid=experiment-cancelled]").TextContent.ShouldContain("cancelled");
            page.Find("[data-testid=cell-0-0] [data-testid=cell-lost]").TextContent.ShouldBe("2 cancelled");
        }, TimeSpan.FromSeconds(10));
        (await _host.Get<RunService>().ListAsync()).ShouldAllBe(r => r.Status == RunStatus.Cancelled);
    }

    [Fact]
    public async Task TheList_LinksAGridToItsGrid_AndASweepToItsChart()
    {
        var grid = await Launch();
        var sweep = await _host.Get<SweepService>().LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", HyperParameters = new HyperParameters { Epochs = 1 } });
        var page = _host.Ctx.Render<ExperimentsPage>();
        page.WaitForAssertion(() => page.FindAll("[data-testid=experiments] tbody tr").Count.ShouldBe(2));
        page.Find($"[data-testid=experiment-{grid.Id}] a").GetAttribute("href").ShouldBe($"/experiments/{grid.Id}");
        page.Find($"[data-testid=experiment-{grid.Id}]").TextContent.ShouldContain("0 running, 4 queued");
        page.Find($"[data-testid=experiment-{sweep.SweepId}] a").GetAttribute("href").ShouldBe($"/sweeps/{sweep.SweepId}");
        page.Find($"[data-testid=experiment-{sweep.SweepId}] a").TextContent.ShouldBe("Sweep resnet18.tv_in1k on tiny");
    }

    [Fact]
    public void AnUnknownExperiment_SaysSo()
    {
        var page = _host.Ctx.Render<ExperimentPage>(p => p.Add(x => x.Id, Guid.NewGuid()));
        page.WaitForAssertion(() => page.Find("[data-testid=not-found]").TextContent.ShouldContain("does not exist"));
    }

    static IElement Input(IRenderedComponent<NewExperimentPage> page, string testId)
    {
        var e = page.Find($"[data-testid='{testId}']");
        return e.TagName == "INPUT" ? e : e.QuerySelector("input")!;
    }

    [Fact]
    public async Task TheLaunchForm_QueuesModelsTimesStrategiesTimesSeeds_WithEachArmsOptions_AndOpensTheGrid()
    {
        var page = _host.Ctx.Render<NewExperimentPage>();
        page.Find("[data-testid=run-count]").TextContent.ShouldBe("0 × 0 × 1 × 3 = 0 runs", "three seeds by default");
        page.Find("button[data-testid=launch]").Click();
        page.WaitForAssertion(() => page.Find("[data-testid=error-Models]").TextContent.ShouldBe("Choose at least one model."));

        Input(page, "model-resnet18.tv_in1k").Change(true);
        Input(page, "strategy-feature-extraction").Change(true);
        Input(page, "strategy-partial-fine-tune").Change(true);
        Input(page, "seeds").Change("7, 8");
        // MudBlazor hands changes to the page asynchronously.
        page.WaitForAssertion(() => page.Find("[data-testid=run-count]").TextContent.ShouldBe("1 × 2 × 1 × 2 = 4 runs"));

        // The arm's options come from the strategy's description; a bad one is explained under the option, as on the new-run page.
        page.Find("[data-testid=options-partial-fine-tune] [data-testid=option-layerwiseDecay] input").Change("3");
        page.Find("button[data-testid=launch]").Click();
        page.WaitForAssertion(() => page.Find("[data-testid=options-partial-fine-tune] [data-testid=option-layerwiseDecay]").TextContent
            .ShouldContain("Layer-wise decay must be between 0.05 and 1; it is 3."));
        (await _host.Get<ExperimentService>().ListAsync()).ShouldBeEmpty("nothing is queued while a run would be refused");

        page.Find("[data-testid=options-partial-fine-tune] [data-testid=option-layerwiseDecay] input").Change("0.5");
        page.Find("button[data-testid=launch]").Click();
        var nav = _host.Get<NavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/experiments/"));
        var id = Guid.Parse(nav.Uri.Split('/').Last());
        var view = (await _host.Get<ExperimentService>().GetAsync(id))!;
        view.Runs.Count.ShouldBe(4);
        view.Runs.Select(r => r.Request.HyperParameters.Seed).Distinct().Order().ShouldBe([7, 8]);
        view.Grid!.Columns.Select(c => c.Label).ShouldBe(["feature-extraction", "partial-fine-tune (layerwiseDecay 0.5)"],
            "only the option changed from its default names the column");
        view.Runs.Where(r => r.Strategy == "partial-fine-tune").ShouldAllBe(r => r.Request.Options!["layerwiseDecay"]!.GetValue<double>() == 0.5);
    }
}
