using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Catalog;
using ModelZoo.Web.Catalog;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Catalog;

public class CatalogPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;

    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    static IReadOnlyList<string> RowIds(IRenderedComponent<CatalogPage> page) =>
        page.FindAll("tbody tr code").Select(c => c.TextContent).ToList();

    static void Tick(IRenderedComponent<CatalogPage> page, string id)
    {
        var el = page.Find($"[data-testid='select-{id}']");
        (el.TagName == "INPUT" ? el : el.QuerySelector("input")!).Change(true);
    }

    [Fact]
    public void ListsEveryEntry_WithGflopsAndTop1()
    {
        var page = _host.Ctx.Render<CatalogPage>();

        RowIds(page).Count.ShouldBe(_host.Get<ICatalog>().All().Count);
        var resnet18 = page.FindAll("tbody tr").Single(r => r.TextContent.Contains("resnet18.tv_in1k"));
        resnet18.QuerySelector("[data-testid=gflops]")!.TextContent.ShouldBe("1.81");
        resnet18.QuerySelector("[data-testid=top1]")!.TextContent.ShouldContain("69.76 %");
        resnet18.QuerySelector("[data-testid=top1] .metric")!.GetAttribute("data-source").ShouldNotBeNull().ShouldContain("torchvision");
    }

    [Fact]
    public void SortingByTop1_PutsTheMostAccurateFirst_AndAModelWithoutTop1Last()
    {
        var page = _host.Ctx.Render<CatalogPage>();

        page.Find("[data-testid=sort-Top1]").Click();

        // Descending by the top-1 shown (ImageNet for official entries, unseen fonts for house ones: the column is the
        // entry's own top-1 metric); resnet152 leads the ImageNet entries.
        var top1 = page.FindAll("tbody tr").Select(r => r.QuerySelector("[data-testid=top1]")!.TextContent)
            .Where(t => t.Contains('%'))
            .Select(t => double.Parse(System.Text.RegularExpressions.Regex.Match(t, @"\d+(\.\d+)?").Value, System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        top1.Count.ShouldBeGreaterThan(2);
        top1.ShouldBe(top1.OrderByDescending(v => v).ToList());
        RowIds(page).Where(id => id.EndsWith(".tv_in1k")).First().ShouldBe("resnet152.tv_in1k");
        // Every model without a top-1 (BERT entries, house entries scored on other tasks) comes after all that have one.
        var hasTop1 = page.FindAll("tbody tr").Select(r => r.QuerySelector("[data-testid=top1]")!.TextContent.Contains('%')).ToList();
        var firstWithout = hasTop1.IndexOf(false);
        firstWithout.ShouldBeGreaterThan(0);
        hasTop1.Skip(firstWithout).ShouldAllBe(h => !h);
        RowIds(page).Skip(firstWithout).ShouldContain("bert.base_uncased_hf");
    }

    [Fact]
    public void TickingTwoRows_EnablesCompare_WhichOpensTheComparePageWithThoseIds()
    {
        var page = _host.Ctx.Render<CatalogPage>();
        page.Find("[data-testid=compare]").HasAttribute("disabled").ShouldBeTrue();

        Tick(page, "resnet18.tv_in1k");
        page.Find("[data-testid=compare]").HasAttribute("disabled").ShouldBeTrue("one model is not a comparison");
        Tick(page, "vgg16.tv_in1k");
        page.Find("[data-testid=compare]").HasAttribute("disabled").ShouldBeFalse();
        page.Find("[data-testid=compare]").Click();

        _host.Get<NavigationManager>().Uri.ShouldEndWith("/compare?ids=resnet18.tv_in1k,vgg16.tv_in1k");
    }
}
