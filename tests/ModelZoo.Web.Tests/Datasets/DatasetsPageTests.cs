using Bunit;
using Bunit.TestDoubles;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Tests.Datasets;
using ModelZoo.Web.Datasets;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Datasets;

public class DatasetsPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    readonly TaskCompletionSource _release = new();

    /// <summary>Replaces the real built-ins (which would call npm and apt) with one that waits for the test.</summary>
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync(configure: s =>
    {
        foreach (var d in s.Where(d => d.ServiceType == typeof(BuiltInDataset)).ToList()) s.Remove(d);
        s.AddSingleton(new BuiltInDataset
        {
            Id = "gated", Title = "Gated digits", Description = "test", Registry = "debian", Package = "gated-pkg", License = "MIT (test)", DownloadSize = "1 KB",
            FetchAsync = async (ctx, progress, ct) =>
            {
                progress?.Report(0.4);
                progress.ReportStep("Downloading gated-pkg");
                await _release.Task.WaitAsync(ct);
                int[] labels = [0, 1, 0, 1];
                return ctx.Store.Write(new DatasetInfo { Id = "gated", Title = "Gated digits", ClassNames = ["a", "b"], Width = 1, Height = 1, Channels = 1 },
                    new ImageSet { Width = 1, Height = 1, Channels = 1, Pixels = new byte[4], Labels = labels, ClassNames = ["a", "b"] },
                    StratifiedSplitter.Split(labels, 1));
            },
        });
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public void Page_ListsBuiltInsWithLicence_AndTheStoredDatasets()
    {
        var page = _host.Ctx.Render<DatasetsPage>();
        var card = page.Find("[data-testid=builtin-gated]");
        card.TextContent.ShouldContain("Gated digits");
        card.TextContent.ShouldContain("MIT (test)");
        card.TextContent.ShouldContain("gated-pkg");
        page.Find("[data-testid=datasets]").TextContent.ShouldContain("Tiny");
    }

    [Fact]
    public void FetchButton_ShowsProgress_ThenTheDatasetIsReady()
    {
        var page = _host.Ctx.Render<DatasetsPage>();
        page.Find("button[data-testid=fetch-gated]").Click();
        // The step without a fraction is named over a moving bar.
        page.WaitForAssertion(() => page.Find("[data-testid=fetch-progress]").TextContent.ShouldContain("Downloading gated-pkg…"));
        page.FindAll(".mud-progress-linear.mud-progress-indeterminate").ShouldNotBeEmpty();

        _release.SetResult();
        page.WaitForAssertion(() =>
        {
            page.FindAll("button[data-testid=fetch-gated]").ShouldBeEmpty();
            page.Find("[data-testid=builtin-gated]").TextContent.ShouldContain("Ready");
            page.Find("[data-testid=datasets]").TextContent.ShouldContain("Gated digits");
        });
    }

    [Fact]
    public async Task CancelButton_StopsTheFetch_AndSaysNothingWasKept()
    {
        var page = _host.Ctx.Render<DatasetsPage>();
        page.Find("button[data-testid=fetch-gated]").Click();
        page.WaitForAssertion(() => page.Find("button[data-testid=cancel-fetch-gated]"), TimeSpan.FromSeconds(10));

        // Find and click on the renderer's thread: the fetch's progress re-renders the page, and a button found before
        // a re-render has a stale handler (seen once in CI on a busy machine).
        await page.InvokeAsync(() => page.Find("button[data-testid=cancel-fetch-gated]").Click());

        // The fetch ends on a pool thread; a busy machine can take more than bUnit's default second to get there.
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=fetch-error]").TextContent.ShouldBe("The fetch was cancelled; nothing was kept.");
            page.FindAll("button[data-testid=fetch-gated]").ShouldHaveSingleItem("it can be fetched again");
        }, TimeSpan.FromSeconds(10));
        _host.Get<DatasetStore>().Exists("gated").ShouldBeFalse();
    }

    IRenderedComponent<DatasetsPage> ChooseAndImport(byte[] zip, string fileName = "pets.zip")
    {
        var page = _host.Ctx.Render<DatasetsPage>();
        page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(zip, fileName));
        page.WaitForAssertion(() => page.Find("[data-testid=upload-chosen]").TextContent.ShouldContain(fileName));
        page.Find("input[data-testid=upload-name]").GetAttribute("value").ShouldBe(Path.GetFileNameWithoutExtension(fileName), "the name defaults to the file's");
        page.Find("button[data-testid=upload-import]").Click();
        return page;
    }

    [Fact]
    public void Upload_ImportsAGoodZip_AndOpensTheDatasetPage()
    {
        var page = ChooseAndImport(UploadCorpus.Zip().Class("cat", 4).Class("dog", 4).Bytes());
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldEndWith("/datasets/pets"), TimeSpan.FromSeconds(20));
        _host.Get<DatasetStore>().Find("pets")!.ClassNames.ShouldBe(["cat", "dog"]);
    }

    [Fact]
    public void Upload_ShowsEachRejectedFileWithItsReason_AndStoresNothing()
    {
        var zip = UploadCorpus.Zip().Class("cat", 3).Class("dog", 1).File("cat/readme.txt", "hello"u8.ToArray()).Bytes();
        var page = ChooseAndImport(zip);
        page.WaitForAssertion(() =>
        {
            var errors = page.Find("[data-testid=upload-errors]").TextContent;
            errors.ShouldContain("dog/: class 'dog' has 1 image; each class needs at least 2");
            errors.ShouldContain("cat/readme.txt: is not an image");
            errors.ShouldContain("Nothing was stored.");
        }, TimeSpan.FromSeconds(20));
        _host.Get<DatasetStore>().All().Select(d => d.Id).ShouldBe(["tiny"]);
        Directory.EnumerateFileSystemEntries(Path.Combine(_host.DataDir, "datasets")).Select(Path.GetFileName).ShouldBe(["tiny"]);
    }

    [Fact]
    public void Page_ListsTheDomainPairs_WithSourceTargetSharedClassesAndWhatIsUnlabelled()
    {
        var table = _host.Ctx.Render<DatasetsPage>().Find("[data-testid=domain-pairs]").TextContent;
        table.ShouldContain("Font-rendered digits → handwritten MNIST");
        table.ShouldContain("MNIST → UCI optdigits 8x8");
        table.ShouldContain("10: 0 1 2 3 4 5 6 7 8 9");
        table.ShouldContain("The MNIST training split, without its labels");
        table.ShouldContain("fetch glyphs");
    }
}
