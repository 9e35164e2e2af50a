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

public class UploadFormTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>Chooses a small ImageFolder zip named <paramref name="fileName"/>, ticking "mirror-invariant" when asked,
    /// imports it and returns the stored facts of the dataset the form opened.</summary>
    DatasetInfo Upload(string fileName, bool tickMirrorInvariant)
    {
        var form = _host.Ctx.Render<UploadForm>();
        form.Find("[data-testid=upload-caption]").TextContent.ShouldContain("no flips", customMessage: "the caption shows the profile a new upload gets");
        if (tickMirrorInvariant)
        {
            var box = form.Find("[data-testid=upload-mirror-invariant]");
            (box.TagName == "INPUT" ? box : box.QuerySelector("input")!).Change(true);
            form.Find("[data-testid=upload-caption]").TextContent.ShouldContain("horizontal flips");
        }
        var zip = UploadCorpus.Zip().Class("left", 3).Class("right", 3).Bytes();
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(zip, fileName));
        form.Find("button[data-testid=upload-import]").Click();

        var id = ImageFolderImporter.IdFor(Path.GetFileNameWithoutExtension(fileName));
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        form.WaitForAssertion(() => nav.Uri.ShouldEndWith($"/datasets/{id}"), TimeSpan.FromSeconds(20));
        return _host.Get<DatasetStore>().Find(id)!;
    }

    [Fact]
    public void AnUpload_GetsTheSafeProfile_WithoutFlips_UnlessTheUserSaysOtherwise() =>
        Upload("arrows.zip", tickMirrorInvariant: false).Augmentation.ShouldBe(AugmentationProfile.Unknown);

    [Fact]
    public void TickingMirrorInvariant_SendsTheChoice_AndTheUploadIsStoredWithFlips() =>
        Upload("shoes.zip", tickMirrorInvariant: true).Augmentation.ShouldBe(AugmentationProfile.Unknown with { HorizontalFlip = true });

    static byte[] IconTheme()
    {
        var zip = UploadCorpus.Zip().Class("a", 3).Class("b", 3).File("a/orig.png", UploadCorpus.Image(42));
        for (int i = 0; i < 275; i++) zip.File($"b/copy{i:000}.png", UploadCorpus.Image(42));
        return zip.Bytes();
    }

    [Fact]
    public void ByDefault_DuplicatesAreDropped_AndTheDatasetOpens_WithEveryDroppedFileRecorded()
    {
        var form = _host.Ctx.Render<UploadForm>();
        form.FindComponent<DuplicatesChoice>().Instance.Value.ShouldBe(DuplicatePolicy.Drop);
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(IconTheme(), "icons.zip"));
        form.Find("button[data-testid=upload-import]").Click();

        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        form.WaitForAssertion(() => nav.Uri.ShouldEndWith("/datasets/icons"), TimeSpan.FromSeconds(30));
        var info = _host.Get<DatasetStore>().Find("icons")!;
        info.Examples.ShouldBe(6);
        (info.Cleaning!.ConflictGroupsDropped, info.Cleaning.ConflictExamplesDropped).ShouldBe((1, 276), "the image is in two classes: every copy goes");
    }

    [Fact]
    public void ARefusal_ShowsTheCountAndEveryProblem_InPages()
    {
        var form = _host.Ctx.Render<UploadForm>();
        var choice = form.FindComponent<DuplicatesChoice>();
        form.InvokeAsync(() => choice.Instance.ValueChanged.InvokeAsync(DuplicatePolicy.Refuse)).GetAwaiter().GetResult();
        form.FindComponent<DuplicatesChoice>().Instance.Value.ShouldBe(DuplicatePolicy.Refuse);
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(IconTheme(), "icons.zip"));
        form.Find("button[data-testid=upload-import]").Click();

        form.WaitForAssertion(() => form.Find("[data-testid=upload-errors] b").TextContent.ShouldBe("The upload was rejected: 275 problems."),
            TimeSpan.FromSeconds(30));
        string[] Shown() => form.FindAll("[data-testid=problems-list] li code").Select(c => c.TextContent).ToArray();
        form.WaitForAssertion(() => form.Find("[data-testid=problems-range]").TextContent.ShouldContain("Problems 1–50 of 275"));
        Shown().ShouldBe(Enumerable.Range(0, 50).Select(i => $"b/copy{i:000}.png"));

        // Every page, in order, holds the rest: all 275 can be read.
        var seen = new List<string>(Shown());
        for (int page = 2; page <= 6; page++)
        {
            form.FindAll("[data-testid=problems-pages] button").Single(b => b.TextContent.Trim() == page.ToString()).Click();
            // Wait for the page's own range before reading it: on a busy machine the re-render can come after the click returns.
            var first = (page - 1) * 50 + 1;
            form.WaitForAssertion(() => form.Find("[data-testid=problems-range]").TextContent.ShouldContain($"Problems {first}–"));
            seen.AddRange(Shown());
        }
        seen.ShouldBe(Enumerable.Range(0, 275).Select(i => $"b/copy{i:000}.png"));
        form.Find("[data-testid=problems-range]").TextContent.ShouldContain("Problems 251–275 of 275");
    }
}
