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
        resnet18.QuerySelector("[data-testid=input]")!.TextContent.ShouldBe("224 px");

        // A text model's input is a sequence of tokens, and its GFLOPs are per sequence of that length.
        var bert = page.FindAll("tbody tr").Single(r => r.TextContent.Contains("bert.base_uncased_hf"));
        bert.QuerySelector("[data-testid=input]")!.TextContent.ShouldBe("512 tokens");
        bert.QuerySelector("[data-testid=gflops]")!.TextContent.ShouldBe("48.32");
    }

    [Fact]
    public void SortingByTop1_RanksWithinABenchmark_ImageNetFirst_AndAModelWithoutTop1Last()
    {
        var page = _host.Ctx.Render<CatalogPage>();

        page.Find("[data-testid=sort-Top1]").Click();

        // The official entries' ImageNet-1k top-1s come first, most accurate first (resnet152 leads); the house
        // entries' top-1 on unseen glyph fonts follows as its own group, each figure saying what data it is on.
        var rows = page.FindAll("tbody tr").Select(r => (Id: r.QuerySelector("code")!.TextContent, Cell: r.QuerySelector("[data-testid=top1]")!)).ToList();
        double Value(AngleSharp.Dom.IElement cell) => double.Parse(System.Text.RegularExpressions.Regex.Match(cell.TextContent, @"\d+(\.\d+)?").Value, System.Globalization.CultureInfo.InvariantCulture);
        var imagenet = rows.TakeWhile(r => r.Cell.QuerySelector("[data-testid=benchmark]") is null && r.Cell.TextContent.Contains('%')).ToList();
        imagenet.Count.ShouldBeGreaterThan(2);
        imagenet.ShouldAllBe(r => r.Id.EndsWith(".tv_in1k"));
        imagenet[0].Id.ShouldBe("resnet152.tv_in1k");
        imagenet.Select(r => Value(r.Cell)).ShouldBe(imagenet.Select(r => Value(r.Cell)).OrderByDescending(v => v).ToList());
        var glyphs = rows.Skip(imagenet.Count).TakeWhile(r => r.Cell.TextContent.Contains('%')).ToList();
        glyphs.Select(r => r.Id).ShouldBe(["resnet18.glyphs_house", "vgg11_bn.glyphs_house", "mobilenet_v2.glyphs_house"], "76.76 %, 70.59 %, 64.33 % on unseen fonts");
        glyphs.ShouldAllBe(r => r.Cell.QuerySelector("[data-testid=benchmark]")!.TextContent.Contains("glyphs test split"));
        // Every model without a top-1 (BERT entries) comes after all that have one.
        rows.Skip(imagenet.Count + glyphs.Count).ShouldAllBe(r => !r.Cell.TextContent.Contains('%'));
        rows.Skip(imagenet.Count + glyphs.Count).Select(r => r.Id).ShouldContain("bert.base_uncased_hf");
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
