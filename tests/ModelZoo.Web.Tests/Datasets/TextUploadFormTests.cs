using System.Text;
using Bunit;
using Bunit.TestDoubles;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Datasets;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Datasets;

public class TextUploadFormTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    IRenderedComponent<TextUploadForm> Choose(string csv, string fileName = "tickets.csv")
    {
        var form = _host.Ctx.Render<TextUploadForm>();
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(Encoding.UTF8.GetBytes(csv), fileName));
        return form;
    }

    /// <summary>The form's Duplicates choice reaches the importer: refuse lists the repeated row and keeps nothing;
    /// drop (the default) imports and records it.</summary>
    [Fact]
    public void TheDuplicatesChoice_RefusesOrDropsARepeatedRow()
    {
        var csv = "title,body,team\n" + string.Concat(Enumerable.Range(0, 8).Select(i => $"t{i},\"printer {i} is jammed\",{(i % 2 == 0 ? "it" : "facilities")}\n"))
            + "t9,\"printer 0 is jammed\",it\n";
        var form = Choose(csv);
        form.WaitForAssertion(() => form.Find("[data-testid=text-upload-summary]").TextContent.ShouldContain("9 rows"), TimeSpan.FromSeconds(20));
        form.FindComponent<DuplicatesChoice>().Instance.Value.ShouldBe(ModelZoo.Core.Datasets.DuplicatePolicy.Drop);
        var choice = form.FindComponent<DuplicatesChoice>();
        form.InvokeAsync(() => choice.Instance.ValueChanged.InvokeAsync(ModelZoo.Core.Datasets.DuplicatePolicy.Refuse)).GetAwaiter().GetResult();
        form.Find("button[data-testid=text-upload-import]").Click();
        form.WaitForAssertion(() => form.Find("[data-testid=text-upload-errors]").TextContent.ShouldContain("row 9: repeats the text of row 1 (duplicate row"), TimeSpan.FromSeconds(20));
        _host.Get<DatasetStore>().Find("tickets").ShouldBeNull();

        form.InvokeAsync(() => form.FindComponent<DuplicatesChoice>().Instance.ValueChanged.InvokeAsync(ModelZoo.Core.Datasets.DuplicatePolicy.Drop)).GetAwaiter().GetResult();
        form.Find("button[data-testid=text-upload-import]").Click();
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        form.WaitForAssertion(() => nav.Uri.ShouldEndWith("/datasets/tickets"), TimeSpan.FromSeconds(20));
        _host.Get<DatasetStore>().Find("tickets")!.Cleaning!.Dropped.Single().Item.ShouldBe("tickets.csv row 9");
    }

    [Fact]
    public void ChoosingAFile_ShowsItsColumnsAndFirstRows_ThenImportOpensTheNewDataset()
    {
        var csv = "title,body,team\n" + string.Concat(Enumerable.Range(0, 8).Select(i => $"t{i},\"printer {i} is jammed, again\",{(i % 2 == 0 ? "it" : "facilities")}\n"));
        var form = Choose(csv);

        form.WaitForAssertion(() => form.Find("[data-testid=text-upload-summary]").TextContent.ShouldContain("8 rows, 3 columns, comma-separated"), TimeSpan.FromSeconds(20));
        form.FindAll("[data-testid=text-upload-preview] th").Select(th => th.TextContent).ShouldBe(["title", "body", "team"]);
        form.Find("[data-testid=text-upload-preview] tbody tr").TextContent.ShouldContain("printer 0 is jammed, again");
        form.Find("input[data-testid=text-upload-name]").GetAttribute("value").ShouldBe("tickets", "the name defaults to the file's");
        form.Find("button[data-testid=text-upload-import]").Click();

        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        form.WaitForAssertion(() => nav.Uri.ShouldEndWith("/datasets/tickets"), TimeSpan.FromSeconds(20));
        var info = _host.Get<DatasetStore>().Find("tickets")!;
        info.ClassNames.ShouldBe(["facilities", "it"], "the suggested columns were body (longest texts) and team");
        info.Provenance.ShouldContain("text column 'body', label column 'team'");
        Directory.EnumerateFileSystemEntries(Path.Combine(_host.DataDir, "datasets")).Select(Path.GetFileName).ShouldBe(["tickets", "tiny"], ignoreOrder: true, customMessage: "the received file is gone");
    }

    [Fact]
    public void AFileThatIsNotUtf8_IsRejectedWithItsByteOffset_AndNothingIsKept()
    {
        var form = _host.Ctx.Render<TextUploadForm>();
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(Encoding.Latin1.GetBytes("text,label\ncr\u00e8me,a\n"), "menu.csv"));

        form.WaitForAssertion(() => form.Find("[data-testid=text-upload-errors]").TextContent
            .ShouldContain("menu.csv: is not valid UTF-8: byte offset 13 (line 2) starts with 0xE8"), TimeSpan.FromSeconds(20));
        form.FindAll("[data-testid=text-upload-preview]").ShouldBeEmpty();
        Directory.EnumerateFileSystemEntries(Path.Combine(_host.DataDir, "datasets")).Select(Path.GetFileName).ShouldBe(["tiny"]);
    }
}
