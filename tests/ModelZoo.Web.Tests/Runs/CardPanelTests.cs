using Bunit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Cards;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Cards;
using ModelZoo.Web.Runs.Cards;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The card editor against the real run store (see <see cref="ComponentHost"/>). The worker does not run, so
/// the run is marked succeeded with a generated-looking card by hand, as the worker would store it.</summary>
public class CardPanelTests : IAsyncLifetime
{
    const string Generated = "---\nlicense: mit\n---\n\n# digits\n\nA ResNet-18 classifier.\n\n## Results on the held-out test split\n\n| metric | value |\n| --- | --- |\n| test accuracy | 87.65 % |\n\n## Limitations\n\n- Evaluated only on the test split.\n";

    ComponentHost _host = default!;
    Guid _run;

    public async Task InitializeAsync()
    {
        _host = await ComponentHost.CreateAsync();
        _run = (await _host.Get<RunService>().LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Name = "card" })).RunId.ShouldNotBeNull();
        await using var db = await _host.Get<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync();
        var r = await db.Runs.FirstAsync(x => x.Id == _run);
        r.Status = RunStatus.Succeeded;
        r.CardMarkdown = Generated;
        await db.SaveChangesAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task AnAuthorWritesBothSections_SavesAVersion_AndCanStillReadTheGeneratedOnlyCard()
    {
        var panel = _host.Ctx.Render<CardPanel>(p => p.Add(x => x.RunId, _run));
        panel.WaitForAssertion(() => panel.Find("[data-testid=card]").TextContent.ShouldContain("To be written by a person."));
        panel.FindAll("[data-testid=card-version]").ShouldBeEmpty("no version has been saved");

        await panel.Find("[data-testid=edit-card]").ClickAsync(new());
        panel.WaitForAssertion(() => panel.FindAll("[data-testid=card-editor]").Count.ShouldBe(1));
        panel.Find("[data-testid=intended-use] textarea").Change("Sorting scanned digits.");
        panel.Find("[data-testid=ethical] textarea").Change("Public digits only.");
        await panel.Find("[data-testid=save-card]").ClickAsync(new());

        panel.WaitForAssertion(() => panel.Find("[data-testid=card-message]").TextContent.ShouldBe("Saved as version 1."));
        var card = panel.Find("[data-testid=card]").TextContent;
        card.ShouldContain("Sorting scanned digits.");
        card.ShouldContain("Public digits only.");
        card.ShouldNotContain("To be written by a person.");
        panel.FindAll("[data-testid=card-editor]").ShouldBeEmpty();
        (await _host.Get<CardService>().GetAsync(_run)).ShouldNotBeNull().LatestVersion.ShouldBe(1);
    }

    /// <summary>Who may write follows the API's rule (the run's owner or an admin): others read the card with no
    /// editor; a save names its author in the version list.</summary>
    [Fact]
    public async Task OnlyWhoMayManageTheRunSeesTheEditor_AndASaveNamesItsAuthor()
    {
        var reader = _host.Ctx.Render<CardPanel>(p => p.Add(x => x.RunId, _run).Add(x => x.MayEdit, false));
        reader.WaitForAssertion(() => reader.Find("[data-testid=card]").TextContent.ShouldContain("To be written by a person."));
        reader.FindAll("[data-testid=edit-card]").ShouldBeEmpty();
        reader.FindAll("[data-testid=download-card]").ShouldNotBeEmpty("reading and downloading stay open to everyone");

        var author = _host.Ctx.Render<CardPanel>(p => p.Add(x => x.RunId, _run).Add(x => x.EditorName, "ada"));
        await author.Find("[data-testid=edit-card]").ClickAsync(new());
        author.WaitForAssertion(() => author.FindAll("[data-testid=card-editor]").Count.ShouldBe(1));
        author.Find("[data-testid=intended-use] textarea").Change("Sorting scanned digits.");
        await author.Find("[data-testid=save-card]").ClickAsync(new());
        author.WaitForAssertion(() => author.Find("[data-testid=card-message]").TextContent.ShouldBe("Saved as version 1."));
        (await _host.Get<CardService>().GetAsync(_run))!.Versions.ShouldHaveSingleItem().SavedBy.ShouldBe("ada");
    }

    [Fact]
    public async Task AHeadingThatWouldStartASection_IsShownAtItsField_AndNothingIsSaved()
    {
        var panel = _host.Ctx.Render<CardPanel>(p => p.Add(x => x.RunId, _run));
        panel.WaitForAssertion(() => panel.FindAll("[data-testid=edit-card]").Count.ShouldBe(1));
        await panel.Find("[data-testid=edit-card]").ClickAsync(new());
        panel.WaitForAssertion(() => panel.FindAll("[data-testid=card-editor]").Count.ShouldBe(1));
        panel.Find("[data-testid=intended-use] textarea").Change("## Results\n\n100 %");
        await panel.Find("[data-testid=save-card]").ClickAsync(new());

        panel.WaitForAssertion(() => panel.Find("[data-testid=card-editor]").TextContent.ShouldContain("use ### or deeper"));
        panel.Find("[data-testid=card-message]").TextContent.ShouldBe("The card's text was not saved.");
        (await _host.Get<CardService>().GetAsync(_run)).ShouldNotBeNull().LatestVersion.ShouldBe(0);
    }

    [Fact]
    public async Task ASaveFromAStaleEditor_KeepsTheAuthorsText_AndSaysWhy()
    {
        var panel = _host.Ctx.Render<CardPanel>(p => p.Add(x => x.RunId, _run));
        panel.WaitForAssertion(() => panel.FindAll("[data-testid=edit-card]").Count.ShouldBe(1));
        await panel.Find("[data-testid=edit-card]").ClickAsync(new());
        panel.WaitForAssertion(() => panel.FindAll("[data-testid=card-editor]").Count.ShouldBe(1));
        // Someone else saves while this editor is open.
        (await _host.Get<CardService>().SaveAsync(_run, new CardAuthorText("Theirs.", null), 0)).Status.ShouldBe(CardSaveStatus.Saved);

        panel.Find("[data-testid=intended-use] textarea").Change("Mine.");
        await panel.Find("[data-testid=save-card]").ClickAsync(new());
        panel.WaitForAssertion(() => panel.Find("[data-testid=card-message]").TextContent.ShouldContain("version 1 has been saved since"));
        panel.Find("[data-testid=intended-use] textarea").GetAttribute("value").ShouldBe("Mine.");
        panel.Find("[data-testid=card]").TextContent.ShouldContain("Theirs.", customMessage: "the card shows what the other save wrote");
    }

    [Fact]
    public async Task TheDiffPage_ShowsOnlyWhatAVersionChanged_LineByLine()
    {
        var cards = _host.Get<CardService>();
        (await cards.SaveAsync(_run, new CardAuthorText("First text.", null), 0)).Status.ShouldBe(CardSaveStatus.Saved);
        (await cards.SaveAsync(_run, new CardAuthorText("Second text.", null), 1)).Status.ShouldBe(CardSaveStatus.Saved);

        var panel = _host.Ctx.Render<CardPanel>(p => p.Add(x => x.RunId, _run));
        panel.WaitForAssertion(() => panel.Find("[data-testid=diff-previous]").GetAttribute("href").ShouldBe($"/cards/diff?a={_run}&av=1&b={_run}&bv=2"));

        _host.Ctx.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo($"/cards/diff?a={_run}&av=1&b={_run}&bv=2");
        var page = _host.Ctx.Render<CardDiffPage>();
        page.WaitForAssertion(() => page.Find("[data-testid=diff-summary]").TextContent.ShouldContain("1 changed, 0 added, 0 removed"));
        page.FindAll("[data-change]").Select(e => e.GetAttribute("data-testid")).ShouldBe(["section-intended-use"], "unchanged sections are hidden");
        var section = page.Find("[data-testid=section-intended-use]");
        section.QuerySelector(".removed")!.TextContent.ShouldBe("− First text.");
        section.QuerySelector(".added")!.TextContent.ShouldBe("+ Second text.");
        page.Find("[data-testid=diff-sides]").TextContent.ShouldContain("(version 1 of 2)");
    }
}
