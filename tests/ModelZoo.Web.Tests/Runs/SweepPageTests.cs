using Bunit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Runs;

public class SweepPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The sweep's page lists its arms and, as results arrive, plots test accuracy against frozen depth with
    /// feature extraction, full fine-tuning and scratch as levels.</summary>
    [Fact]
    public async Task ASweepsPage_PlotsAccuracyAgainstDepth_AsResultsArrive()
    {
        var sweeps = _host.Get<SweepService>();
        var launch = await sweeps.LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", HyperParameters = new HyperParameters { Epochs = 1 } });
        launch.Ok.ShouldBeTrue(string.Join(" ", launch.Errors.Values));
        var page = _host.Ctx.Render<SweepPage>(p => p.Add(x => x.Id, launch.SweepId!.Value));
        page.Find("[data-testid=sweep-progress]").TextContent.ShouldBe("0 of 9 runs finished");
        page.FindAll("[data-testid=sweep-runs] tbody tr").Count.ShouldBe(9);
        page.Find("[data-testid=sweep-runs]").TextContent.ShouldContain("partial, 2 frozen (up to layer1)");

        // Results of depths 0 and 5 and of scratch, stored as the worker stores them, then the final status events.
        var view = (await sweeps.GetAsync(launch.SweepId!.Value))!;
        var dbs = _host.Get<IDbContextFactory<ZooDbContext>>();
        var recorder = _host.Get<RunEventRecorder>();
        foreach (var (run, acc) in new[] { (Depth(view, 0), 0.7), (Depth(view, 5), 0.9), (view.Runs.Single(r => r.Strategy == "scratch"), 0.55) })
        {
            await using (var db = await dbs.CreateDbContextAsync())
                await db.Runs.Where(r => r.Id == run.Id).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Succeeded)
                    .SetProperty(r => r.ResultJson, RunJson.Write(new RunResult { TestAccuracy = acc, ClassNames = ["a", "b"] })));
            await recorder.RecordAsync(run.Id, RunEventKind.Status, new StatusChange(RunStatus.Succeeded, "done"));
        }
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=sweep-progress]").TextContent.ShouldBe("3 of 9 runs finished");
            page.FindAll("[data-testid=sweep-chart] circle.point").Count.ShouldBe(2, "two depths have results");
            page.Find("[data-testid=sweep-chart]").TextContent.ShouldContain("scratch: 55.00 %");
        });
    }

    static RunView Depth(SweepView v, int d) => v.Runs.Single(r => r.Strategy == "partial-fine-tune" && r.Request.Options!["frozenStages"]!.GetValue<int>() == d);
}
