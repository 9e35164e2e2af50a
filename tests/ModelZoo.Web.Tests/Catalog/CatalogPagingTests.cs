using Bunit;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Web.Catalog;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Catalog;

/// <summary>The catalogue at team scale: a zoo of 60 real manifests (the repository's, copied under new tags) shows a
/// page of rows, and sorting and filtering work on every entry, not only the page shown.</summary>
public class CatalogPagingTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    string _zoo = default!;

    public async Task InitializeAsync()
    {
        // The repository's zoo, where a default host finds it.
        await using (var plain = await ComponentHost.CreateAsync())
        {
            _zoo = Directory.CreateTempSubdirectory("mz-zoo-copies-").FullName;
            ZooCopies.Generate(plain.Get<ZooPaths>().ZooDir, _zoo, 60).ShouldBe(60);
        }
        _host = await ComponentHost.CreateAsync(new Dictionary<string, string?> { ["Storage:ZooDir"] = _zoo });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_zoo, recursive: true);
    }

    static IReadOnlyList<string> RowIds(IRenderedComponent<CatalogPage> page) => page.FindAll("tbody tr code").Select(c => c.TextContent).ToList();

    [Fact]
    public void APageOfRows_IsRendered_NotTheWholeZoo()
    {
        _host.Get<ICatalog>().All().Count.ShouldBe(60);
        var page = _host.Ctx.Render<CatalogPage>();
        RowIds(page).Count.ShouldBe(CatalogPage.PageSize);
        page.FindAll("[data-testid=catalog-pager]").Count.ShouldBe(1);
        page.Find("[data-testid=catalog-pager]").TextContent.ShouldContain("of 60");
    }

    [Fact]
    public void Sorting_RanksEveryEntry_BeforeThePageIsCut()
    {
        var page = _host.Ctx.Render<CatalogPage>();
        page.Find("[data-testid=sort-Params]").Click();
        var all = _host.Get<ICatalog>().All();
        var expected = all.OrderBy(e => e.ComputedParams).Select(e => e.ComputedParams).Take(CatalogPage.PageSize).ToList();
        var shown = RowIds(page).Select(id => all.Single(e => e.Id == id).ComputedParams).ToList();
        shown.ShouldBe(expected, "the page shows the smallest of all 60, not of the first 25");
    }

    [Fact]
    public void ASearch_FindsEntriesBeyondTheFirstPage()
    {
        var page = _host.Ctx.Render<CatalogPage>();
        var search = page.Find("[data-testid=search]");
        (search.TagName == "INPUT" ? search : search.QuerySelector("input")!).Input("_c02");
        page.WaitForAssertion(() => RowIds(page).ShouldNotBeEmpty());
        RowIds(page).ShouldAllBe(id => id.EndsWith("_c02"));
        RowIds(page).Count.ShouldBe(_host.Get<ICatalog>().All().Count(e => e.Id.EndsWith("_c02")));
    }
}
