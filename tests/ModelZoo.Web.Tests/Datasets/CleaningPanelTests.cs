using Bunit;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Datasets;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Datasets;

/// <summary>The dataset page says what the upload dropped (collapsed when long) and which held-out images look like
/// training images, with both thumbnails.</summary>
public class CleaningPanelTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    void Write(UploadCleaning? cleaning)
    {
        var labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        _host.Get<DatasetStore>().Write(
            new DatasetInfo
            {
                Id = "icons", Title = "Icons", ClassNames = ["a", "b"], Width = 4, Height = 4, Channels = 1, Origin = DatasetOrigin.Upload,
                Splits = new SplitSizes(14, 3, 3), Cleaning = cleaning,
            },
            new ImageSet { Width = 4, Height = 4, Channels = 1, Pixels = Enumerable.Range(0, 20 * 16).Select(i => (byte)i).ToArray(), Labels = labels, ClassNames = ["a", "b"] },
            StratifiedSplitter.Split(labels, 3));
    }

    static string Text(IRenderedComponent<DatasetPage> page, string testId) =>
        System.Text.RegularExpressions.Regex.Replace(page.Find($"[data-testid={testId}]").TextContent, @"\s+", " ").Trim();

    [Fact]
    public void ALongDropList_IsCountedAndCollapsed_AndNearDuplicatesShowBothImages()
    {
        var dropped = Enumerable.Range(0, 12).Select(i => new DroppedExample($"a/copy{i:00}.png", "byte-identical copy (duplicate file)", "a/orig.png"))
            .Append(new DroppedExample("b/x.png", "the same image is in classes 'a', 'b' (a/x.png, b/x.png); all 2 copies dropped (conflicting labels)"))
            .Append(new DroppedExample("a/x.png", "the same image is in classes 'a', 'b' (a/x.png, b/x.png); all 2 copies dropped (conflicting labels)")).ToList();
        var near = new NearDuplicateReport(NearDuplicates.Method, 2, 1, 0, [
            new(DatasetSplit.Test, 5, "a/five.png", 0, "a/zero.png", true),
            new(DatasetSplit.Test, 7, "b/seven.png", 2, "a/two.png", false),
            new(DatasetSplit.Validation, 9, "b/nine.png", 1, "b/one.png", true)]);
        Write(new UploadCleaning(DuplicatePolicy.Drop, 12, 1, 2, dropped, near));

        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "icons"));

        Text(page, "cleaning-summary").ShouldBe("Dropped at upload: 12 exact duplicate files (the first copy of each was kept) and 1 conflicting-label group (2 files, all dropped).");
        page.Find("[data-testid=dropped-panel]").TextContent.ShouldContain("The 14 dropped files");
        Text(page, "near-duplicates").ShouldStartWith("2 test and 1 validation images look like a training image");
        var pairs = page.FindAll("[data-testid=near-duplicate-pairs] .near-pair");
        pairs.Count.ShouldBe(3);
        pairs[1].QuerySelectorAll("img").Length.ShouldBe(2);
        pairs[1].QuerySelectorAll("img").ShouldAllBe(img => img.GetAttribute("src")!.StartsWith("data:image/png;base64,"));
        pairs[1].TextContent.ShouldContain("b/seven.png ~ a/two.png (different labels)");
    }

    [Fact]
    public void AShortDropList_IsShownOpen()
    {
        Write(new UploadCleaning(DuplicatePolicy.Drop, 1, 0, 0, [new("q.csv row 9", "repeats the text and label of an earlier row (duplicate row)", "q.csv row 1")]));
        var page = _host.Ctx.Render<DatasetPage>(p => p.Add(x => x.Id, "icons"));
        Text(page, "dropped-list").ShouldBe("q.csv row 9: repeats the text and label of an earlier row (duplicate row); kept q.csv row 1");
        page.FindAll("[data-testid=dropped-panel]").ShouldBeEmpty();
    }
}
