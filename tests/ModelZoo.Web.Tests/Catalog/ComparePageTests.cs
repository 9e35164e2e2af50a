using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Web.Catalog;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Catalog;

/// <summary>The compare page against the repo's catalogue and a real (temporary) database.</summary>
public class ComparePageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    BunitContext Ctx => _host.Ctx;

    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    IRenderedComponent<ComparePage> Open(string ids)
    {
        Ctx.Services.GetRequiredService<NavigationManager>().NavigateTo($"/compare?ids={ids}");
        return Ctx.Render<ComparePage>();
    }

    static int Points(IRenderedComponent<ComparePage> page, string chart) => page.FindAll($"[data-testid={chart}] circle.point").Count;

    [Fact]
    public void TwoIds_RenderTwoColumns_WithTheirPublishedFiguresAndSources()
    {
        var page = Open("resnet18.tv_in1k,mobilenet_v2.tv_in1k");

        var columns = page.FindAll("[data-testid=compare-column]");
        columns.Count.ShouldBe(2);
        columns[0].TextContent.ShouldContain("resnet18.tv_in1k");
        columns[1].TextContent.ShouldContain("mobilenet_v2.tv_in1k");
        var top1 = page.FindAll("[data-testid=top1]");
        top1[0].TextContent.ShouldContain("69.76 %");
        top1[1].TextContent.ShouldContain("71.88 %");
        page.Find("[data-testid=sources]").TextContent.ShouldContain("ResNet18_Weights.IMAGENET1K_V1");
        page.FindAll("[data-testid=compare-error]").ShouldBeEmpty();
        Points(page, "chart-gflops").ShouldBe(2);
    }

    [Theory]
    [InlineData("resnet18.tv_in1k", "at least 2")]
    [InlineData("resnet18.tv_in1k,resnet34.tv_in1k,resnet50.tv_in1k,resnet101.tv_in1k,resnet152.tv_in1k,vgg11.tv_in1k,vgg13.tv_in1k", "at most 6")]
    [InlineData("resnet18.tv_in1k,no_such.model", "no_such.model")]
    public void OneOrSevenIds_GiveAClearMessage_AndNoTable(string ids, string message)
    {
        var page = Open(ids);

        page.Find("[data-testid=compare-error]").TextContent.ShouldContain(message);
        page.FindAll("[data-testid=compare-table]").ShouldBeEmpty();
    }

    [Fact]
    public void AModelWithoutTop1_IsListed_ButNotPlotted_AndThePageSaysSo()
    {
        var page = Open("resnet18.tv_in1k,bert.base_uncased_hf");

        page.FindAll("[data-testid=compare-column]").Count.ShouldBe(2);
        page.FindAll("[data-testid=top1]")[1].TextContent.ShouldContain("not published");
        Points(page, "chart-gflops").ShouldBe(1);
        page.Find("[data-testid=chart-gflops] circle.point").GetAttribute("data-label").ShouldBe("resnet18.tv_in1k");
        page.Find("[data-testid=chart-gflops-missing]").TextContent.ShouldContain("bert.base_uncased_hf (no published top-1)");
        page.Find("[data-testid=chart-latency-missing]").TextContent.ShouldContain("bert.base_uncased_hf (no published top-1)");
    }

    [Fact]
    public async Task AStoredMeasurement_IsShownWithItsConditions_AndPlottedAgainstTop1()
    {
        await using (var db = await Ctx.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync())
        {
            db.Latencies.Add(new LatencyRecord
            {
                ModelId = "resnet18.tv_in1k", Architecture = "resnet18", Batch = 1, InputSize = 224, Threads = 2, Device = "CPU (test)",
                MedianMs = 21.44, P90Ms = 23.9, Iterations = 15, MeasuredAt = DateTimeOffset.UtcNow, SoftwareVersions = "TorchSharp test",
            });
            await db.SaveChangesAsync();
        }

        var page = Open("resnet18.tv_in1k,mobilenet_v2.tv_in1k");

        var cells = page.FindAll("[data-testid=latency-b1]");
        cells[0].TextContent.ShouldContain("21.4 ms");
        cells[0].TextContent.ShouldContain("23.9 ms");
        cells[1].TextContent.ShouldContain("not measured");
        page.Markup.ShouldContain("2 threads · CPU (test)");
        page.FindAll("[data-testid=busy]").ShouldBeEmpty("nothing is known about other processes here");
        Points(page, "chart-latency").ShouldBe(1);
        page.Find("[data-testid=chart-latency-missing]").TextContent.ShouldContain("mobilenet_v2.tv_in1k (latency not measured yet)");
    }

    [Fact]
    public async Task AMeasurementTakenBesideOtherBusyProcesses_CarriesAWarning()
    {
        await using (var db = await Ctx.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync())
        {
            db.Latencies.Add(new LatencyRecord
            {
                ModelId = "vgg11.tv_in1k", Architecture = "vgg11", Batch = 1, InputSize = 224, Threads = 2, Device = "CPU (test)",
                MedianMs = 900, P90Ms = 1400, Iterations = 15, MeasuredAt = DateTimeOffset.UtcNow, SoftwareVersions = "test",
                OtherCpuPercent = 74,
            });
            await db.SaveChangesAsync();
        }

        var page = Open("vgg11.tv_in1k,resnet18.tv_in1k");

        page.Find("[data-testid=busy]").TextContent.ShouldContain("other processes took 74 % of the CPU");
    }

    [Fact]
    public void Measure_QueuesAJob_AndShowsItsState()
    {
        var page = Open("resnet18.tv_in1k,bert.base_uncased_hf");

        // Image and text models alike can be measured.
        page.FindAll("[data-testid='measure-bert.base_uncased_hf']").ShouldHaveSingleItem();
        page.Find("[data-testid='measure-resnet18.tv_in1k']").Click();

        // Hosted services do not run under bUnit, so the job stays queued: what matters is that the page shows it.
        page.WaitForAssertion(() => page.Find("[data-testid=job-status]").TextContent.ShouldBe("Queued"));
    }
}
