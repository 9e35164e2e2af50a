using Bunit;
using Bunit.TestDoubles;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Datasets;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Datasets;

public class DatasetPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    void WriteThreeClasses(DatasetOrigin origin, SourceImageStats? sources = null)
    {
        var labels = Enumerable.Range(0, 60).Select(i => i < 30 ? 0 : i < 50 ? 1 : 2).ToArray();
        _host.Get<DatasetStore>().Write(
            new DatasetInfo
            {
                Id = "three", Title = "Three classes", ClassNames = ["alpha", "beta", "gamma"], Width = 4, Height = 4, Channels = 3,
                License = "CC-BY-4.0 (test)", Provenance = "made in the test, sha256 abc", Origin = origin,
                Source = new DatasetSource("debian", "some-pkg", "1.0-1", "some-pkg_1.0-1_all.deb", new string('f', 64), DateTimeOffset.UnixEpoch),
                Splits = new SplitSizes(42, 9, 9), SplitMethod = "Stratified, seed 3.", SourceImages = sources,
            },
            new ImageSet { Width = 4, Height = 4, Channels = 3, Pixels = Enumerable.Range(0, 60 * 48).Select(i => (byte)i).ToArray(), Labels = labels, ClassNames = ["alpha", "beta", "gamma"] },
            StratifiedSplitter.Split(labels, 3));
    }

    [Fact]
    public void Page_ShowsHistogram_SamplesPerClass_SplitsLicenceAndProvenance()
    {
        WriteThreeClasses(DatasetOrigin.BuiltIn);
        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "three"));

        var bars = page.FindAll("[data-testid=histogram] g.bar");
        bars.Count.ShouldBe(3);
        bars[0].TextContent.ShouldContain("alpha");
        bars[0].TextContent.ShouldContain("30");
        double Width(int i) => double.Parse(bars[i].QuerySelector("rect")!.GetAttribute("width")!, System.Globalization.CultureInfo.InvariantCulture);
        Width(2).ShouldBe(Width(0) / 3, 0.1, "bars are proportional to the counts");

        var samples = page.FindAll("[data-testid=samples] img");
        samples.Count.ShouldBe(10 + 10 + 10);
        samples.ShouldAllBe(img => img.GetAttribute("src")!.StartsWith("data:image/png;base64,iVBOR"));
        page.Find("[data-testid=splits]").TextContent.ShouldBe("train 42 · validation 9 · test 9");
        page.Find("[data-testid=licence]").TextContent.ShouldBe("CC-BY-4.0 (test)");
        page.Find("[data-testid=provenance]").TextContent.ShouldContain("sha256 abc");
        page.Markup.ShouldContain(new string('f', 64));
        page.FindAll("button[data-testid=delete]").ShouldBeEmpty("built-ins are not deleted from the page");
        page.Find("[data-testid=train-on-it]").GetAttribute("href").ShouldBe("/runs/new?dataset=three");
        System.Text.RegularExpressions.Regex.Replace(page.Find("[data-testid=image-sizes]").TextContent, @"\s+", " ")
            .ShouldContain("All 60 images are 4 x 4 px: the built-in comes at one size");
        page.FindAll("[data-testid=size-scatter]").ShouldBeEmpty();
    }

    /// <summary>An upload's original sizes are drawn: one dot per distinct size, its area growing with the count,
    /// on one scale for both axes, with the stored square marked.</summary>
    [Fact]
    public void AnUpload_ShowsItsOriginalSizes_AsAScatter()
    {
        ImageSizeCount[] sizes = [new(640, 480, 40), new(480, 640, 15), new(1024, 1024, 5)];
        WriteThreeClasses(DatasetOrigin.Upload, new SourceImageStats(new Dictionary<string, int> { ["jpeg"] = 60 },
            480, 640, 1024, 480, 480, 1024, sizes, 0, sizes));
        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "three"));

        var dots = page.FindAll("[data-testid=size-scatter] circle.size");
        dots.Count.ShouldBe(3);
        dots[0].TextContent.ShouldContain("640 x 480 px: 40 images");
        double R(int i) => double.Parse(dots[i].GetAttribute("r")!, System.Globalization.CultureInfo.InvariantCulture);
        R(0).ShouldBeGreaterThan(R(1));
        R(1).ShouldBeGreaterThan(R(2));
        double Cx(int i) => double.Parse(dots[i].GetAttribute("cx")!, System.Globalization.CultureInfo.InvariantCulture);
        double Cy(int i) => double.Parse(dots[i].GetAttribute("cy")!, System.Globalization.CultureInfo.InvariantCulture);
        (Cx(0) - Cx(1)).ShouldBe(Cy(0) - Cy(1), 0.2, "one scale: swapping width and height mirrors the dot about the diagonal");
        page.Find("[data-testid=size-scatter] rect.stored title").TextContent.ShouldBe("stored at 4 x 4 px");
        page.Find("[data-testid=source-images]").TextContent.ShouldContain("3 distinct sizes");
        page.FindAll("[data-testid=image-sizes]").ShouldBeEmpty();
    }

    [Fact]
    public void AnUploadedDataset_CanBeDeleted_AfterConfirming()
    {
        WriteThreeClasses(DatasetOrigin.Upload);
        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "three"));
        page.Find("button[data-testid=delete]").Click();
        _host.Get<DatasetStore>().Exists("three").ShouldBeTrue("the first click only asks");
        page.Find("button[data-testid=delete-confirm]").Click();
        _host.Get<DatasetStore>().Exists("three").ShouldBeFalse();
        _host.Ctx.Services.GetRequiredService<BunitNavigationManager>().Uri.ShouldEndWith("/datasets");
    }

    /// <summary>The input of a numeric field and the error under it (null when the line under it is no error), which
    /// MudBlazor renders in the same control.</summary>
    static (AngleSharp.Dom.IElement Input, string? Error) Field(IRenderedComponent<DatasetPage> page, string testId)
    {
        var input = page.Find($"input[data-testid={testId}]");
        var under = input.Closest(".mud-input-control")!.QuerySelector(".mud-input-helper-text");
        return (input, under is not null && under.ClassList.Contains("mud-input-error") ? under.TextContent.Trim() : null);
    }

    [Fact]
    public void ThePage_ShowsTheAugmentationProfileInWords_AndSavesAnEdit()
    {
        WriteThreeClasses(DatasetOrigin.BuiltIn);
        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "three"));
        // Facts written without a profile: a built-in then trains as digits did, and the page says it is a fallback.
        page.Find("[data-testid=augmentation-profile]").TextContent.ShouldBe(
            "crops keeping 70-100 % of the area, no flips, rotation within ±10°, colour jitter ±20 %");
        page.Find("[data-testid=augmentation-fallback]").TextContent.ShouldContain("Not recorded in this dataset's facts");

        page.Find("button[data-testid=aug-edit]").Click();
        Field(page, "aug-min-crop").Input.GetAttribute("value").ShouldBe("0.7", "the editor starts from the profile in use");
        page.Find("input[data-testid=aug-flip]").Change(true);
        Field(page, "aug-min-crop").Input.Change("0.5");
        Field(page, "aug-rotation").Input.Change("0");
        Field(page, "aug-jitter").Input.Change("0.25");
        page.Find("button[data-testid=aug-save]").Click();

        _host.Get<DatasetStore>().Find("three")!.Augmentation.ShouldBe(new AugmentationProfile(true, 0.5, 0, 0.25));
        page.Find("[data-testid=augmentation-profile]").TextContent.ShouldBe(
            "crops keeping 50-100 % of the area, horizontal flips, no rotation, colour jitter ±25 %");
        page.FindAll("[data-testid=augmentation-fallback]").ShouldBeEmpty("the profile is recorded now");
        page.Find("[data-testid=augmentation-saved]").TextContent.ShouldContain("Saved.");
        page.FindAll("button[data-testid=aug-save]").ShouldBeEmpty("the editor closes after a save");
    }

    [Fact]
    public void ABadValue_IsExplainedUnderItsField_AndNothingIsSaved()
    {
        WriteThreeClasses(DatasetOrigin.Upload);
        _host.Get<DatasetStore>().UpdateAugmentation("three", AugmentationProfile.Unknown);
        var facts = Path.Combine(_host.Get<DatasetStore>().FolderOf("three"), "dataset.json");
        var before = File.ReadAllBytes(facts);
        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "three"));

        page.Find("button[data-testid=aug-edit]").Click();
        Field(page, "aug-rotation").Input.Change("200");
        Field(page, "aug-jitter").Input.Change("-1");
        page.Find("button[data-testid=aug-save]").Click();

        Field(page, "aug-rotation").Error.ShouldBe("Rotation must be between 0 and 180 degrees.");
        Field(page, "aug-jitter").Error.ShouldBe("Colour jitter must be between 0 and 1.");
        Field(page, "aug-min-crop").Error.ShouldBeNull("a good value gets no message");
        File.ReadAllBytes(facts).ShouldBe(before, "nothing was written");
        page.Find("[data-testid=augmentation-profile]").TextContent.ShouldBe(
            "crops keeping 80-100 % of the area, no flips, no rotation, colour jitter ±10 %");
        page.FindAll("[data-testid=augmentation-saved]").ShouldBeEmpty();

        // Mending the value saves it, and the messages go.
        Field(page, "aug-rotation").Input.Change("180");
        Field(page, "aug-jitter").Input.Change("0");
        page.Find("button[data-testid=aug-save]").Click();
        _host.Get<DatasetStore>().Find("three")!.Augmentation.ShouldBe(AugmentationProfile.Unknown with { MaxRotationDegrees = 180, ColorJitter = 0 });
    }

    [Fact]
    public void AnUnknownId_SaysSo()
    {
        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "nope"));
        page.Markup.ShouldContain("No dataset 'nope'");
    }
}
