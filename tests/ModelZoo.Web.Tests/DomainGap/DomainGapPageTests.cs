using Bunit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.DomainGap;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.DomainGap;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.DomainGap;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.DomainGap;

/// <summary>The domain-gap page against the real run store (see <see cref="ComponentHost"/>) with the real gap probe;
/// the worker does not run, so runs are finished by hand as the worker would finish them, with its status events.</summary>
public class DomainGapPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;

    public async Task InitializeAsync()
    {
        _host = await ComponentHost.CreateAsync(configure: s => s.AddSingleton<IDomainGapProbe>(p =>
            new ModelZoo.Torch.Probing.DomainGapProbe(ModelZoo.Torch.Models.ArchitectureRegistry.Default, null,
                p.GetService<ModelZoo.Torch.Pipeline.PipelineOptions>() ?? new(), ModelZoo.Torch.Training.StrategyRegistry.Default)));
        var labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        _host.Get<DatasetStore>().Write(
            new DatasetInfo { Id = "tiny-target", Title = "Tiny target", ClassNames = ["a", "b"], Examples = 20, Width = 2, Height = 2, Channels = 1 },
            new ImageSet { Width = 2, Height = 2, Channels = 1, Pixels = Enumerable.Repeat((byte)200, 80).ToArray(), Labels = labels, ClassNames = ["a", "b"] },
            StratifiedSplitter.Split(labels, 1));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    async Task Finish(Guid run, RunStatus status, double? accuracy = null)
    {
        await using (var db = await _host.Get<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync())
            await db.Runs.Where(r => r.Id == run).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, status)
                .SetProperty(r => r.ResultJson, accuracy is { } a ? RunJson.Write(new RunResult { TestAccuracy = a, ClassNames = ["a", "b"] }) : null));
        await _host.Get<RunEventRecorder>().RecordAsync(run, RunEventKind.Status, new StatusChange(status, "done"));
    }

    [Fact]
    public async Task ATriosRuns_ShowTheirStatusLive_AndTheReportFillsInAsTheyFinish()
    {
        var launch = await _host.Get<DomainGapTrioService>().LaunchAsync(new DomainGapTrioRequest
        {
            ModelId = "resnet18.tv_in1k", SourceDatasetId = "tiny", TargetDatasetId = "tiny-target", MeasureGap = false,
            HyperParameters = new HyperParameters { Epochs = 1 },
        }, null, CancellationToken.None);
        launch.Ok.ShouldBeTrue(string.Join(" ", launch.Errors.Values));
        var trio = (await _host.Get<DomainGapTrioService>().GetAsync(launch.TrioId!.Value))!;

        var page = _host.Ctx.Render<DomainGapPage>(p => p.Add(x => x.Id, trio.Id));
        page.Find("[data-testid=trio-progress]").TextContent.ShouldBe("0 of 9 runs finished");
        page.FindAll("[data-testid=trio-run]").Select(r => (r.GetAttribute("data-arm"), r.GetAttribute("data-seed"))).ShouldBe(
            Enum.GetValues<TrioArm>().SelectMany(a => new[] { 1, 2, 3 }.Select(s => (a.ToString(), s.ToString()))));
        page.FindAll("[data-testid=trio-run] [data-testid=status]").ShouldAllBe(s => s.TextContent == "Queued");
        page.Find("[data-testid=no-gap]");
        page.Find("[data-testid=arm-Dann] [data-testid=arm-mean]").TextContent.ShouldBe("waiting");

        // A running run shows its progress as its steps arrive.
        var first = trio.Slots[0].RunId;
        await using (var db = await _host.Get<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync())
            await db.Runs.Where(r => r.Id == first).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Running));
        await _host.Get<RunEventRecorder>().RecordAsync(first, RunEventKind.Status, new StatusChange(RunStatus.Running, "Running"));
        await _host.Get<RunEventRecorder>().RecordAsync(first, RunEventKind.Step, StepProgress.Of(1, 3, 10, 3, 10, 0.7, 1e-3, 50, 5));
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=trio-run] [data-testid=status]").TextContent.ShouldBe("Running");
            page.Find("[data-testid=run-progress]").TextContent.ShouldBe("epoch 1 · step 3 of 10 (30 %)");
        }, TimeSpan.FromSeconds(10));

        double[][] accuracies = [[0.60, 0.62, 0.64], [0.70, 0.72, 0.74], [0.90, 0.92, 0.94]];
        foreach (var slot in trio.Slots)
            await Finish(slot.RunId, RunStatus.Succeeded, accuracies[(int)slot.Arm][slot.Seed - 1]);
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=trio-progress]").TextContent.ShouldBe("9 of 9 runs finished");
            page.FindAll("[data-testid=trio-run] [data-testid=status]").ShouldAllBe(s => s.TextContent == "Succeeded");
            page.Find("[data-testid=arm-SourceOnly] [data-testid=arm-mean]").TextContent.ShouldBe("62.00 %");
            // 0.62 ± 4.303 × 0.02 / √3 = 0.62 ± 0.0497
            page.Find("[data-testid=arm-SourceOnly] [data-testid=arm-interval]").TextContent.ShouldBe("57.03 % to 66.97 %");
            page.Find("[data-testid=arm-Oracle] [data-testid=arm-n]").TextContent.ShouldBe("3 of 3");
            page.Find("[data-testid=recovered]").TextContent.ShouldContain("33 %");
            page.Find("[data-testid=verdict]").TextContent.ShouldContain("DANN recovers 33 % of the gap of 30.00 points");
            page.Find("[data-testid=trio-chart]").GetAttribute("data-bars").ShouldBe("3");
            page.FindAll("[data-testid=cancel-trio]").ShouldBeEmpty("nothing is left to cancel");
            page.FindAll("[data-testid=run-progress]").ShouldBeEmpty("no run is running");
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task RunTrio_WithTheSameDatasetTwice_ShowsTheErrorUnderTheTarget_AndStoresNothing()
    {
        _host.Get<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo("/domain-gap?model=resnet18.tv_in1k&source=tiny&target=tiny");
        var page = _host.Ctx.Render<DomainGapPage>();
        page.Find("[data-testid=no-trios]");
        page.Find("button[data-testid=run-trio]").Click();
        page.WaitForAssertion(() => page.Find("[data-testid=error]").TextContent.ShouldContain("another dataset than the source"));
        page.Markup.ShouldContain("The target must be another dataset than the source");
        (await _host.Get<RunService>().ListAsync()).ShouldBeEmpty();
        (await _host.Get<DomainGapTrioService>().ListAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task MeasureGap_ShowsTheNumbers_AndRunTrio_KeepsThatMeasurement()
    {
        _host.Get<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo("/domain-gap?model=resnet18.tv_in1k&source=tiny&target=tiny-target");
        var page = _host.Ctx.Render<DomainGapPage>();
        page.Find("input[data-testid=image-size]").Change("16");
        page.Find("button[data-testid=measure]").Click();
        page.WaitForAssertion(() => page.Find("[data-testid=gap-pad]"), TimeSpan.FromSeconds(60));
        var shown = page.Find("[data-testid=gap-pad] .stat-value").TextContent;

        page.Find("button[data-testid=run-trio]").Click();
        var nav = _host.Get<Microsoft.AspNetCore.Components.NavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/domain-gap/"), TimeSpan.FromSeconds(30));
        var trio = (await _host.Get<DomainGapTrioService>().ListAsync()).ShouldHaveSingleItem();
        var view = (await _host.Get<DomainGapTrioService>().GetAsync(trio.Id))!;
        nav.Uri.ShouldEndWith($"/domain-gap/{trio.Id}");
        view.Runs.Count.ShouldBe(9);
        view.Request.HyperParameters.ImageSize.ShouldBe(16);
        // The measurement the page showed is kept with the trio.
        view.Gap.ShouldNotBeNull();
        ModelZoo.Web.Components.Shared.Format.Num(view.Gap.Measures.ProxyADistance, 3).ShouldBe(shown);
        page.Find("[data-testid=gap-sample] .stat-value").TextContent.ShouldBe($"{view.Gap.Measures.SourceExamples} / {view.Gap.Measures.TargetExamples}");
        view.Gap.Measures.SourceExamples.ShouldBeLessThan(20, "a tiny dataset's whole training split, not the 500 asked for");
    }
}
