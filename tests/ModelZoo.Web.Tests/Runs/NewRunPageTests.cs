using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Bunit;
using Bunit.TestDoubles;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Runs;

public class NewRunPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task InvalidValues_AreExplainedInTheForm_AndNothingIsLaunched()
    {
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("input[data-testid=epochs]").Change("0");
        page.Find("input[data-testid=lr]").Change("0");
        page.Find("button[data-testid=launch]").Click();

        page.WaitForAssertion(() =>
        {
            var errors = page.Find("[data-testid=form-errors]").TextContent;
            errors.ShouldContain("Epochs must be between 1 and 500.");
            errors.ShouldContain("Learning rate must be greater than 0");
            page.FindAll(".mud-input-error").Count.ShouldBeGreaterThanOrEqualTo(2, "each message also sits under its field");
        });
        (await _host.Get<RunService>().ListAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task ValidForm_LaunchesTheRun_AndOpensItsPage()
    {
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("input[data-testid=epochs]").Change("1");
        page.Find("button[data-testid=launch]").Click();

        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/runs/"));
        var run = (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem();
        run.DatasetId.ShouldBe("tiny");
        run.Request.HyperParameters.Epochs.ShouldBe(1);
        nav.Uri.ShouldEndWith($"/runs/{run.Id}");
    }

    [Fact]
    public async Task MaxTokens_IsCheckedInTheForm_AndSentWithTheRequest()
    {
        WriteTextDataset();
        var page = RenderFor("bert_mlm.mini_house");
        page.Find("input[data-testid=max-tokens]").Change("4");
        page.Find("button[data-testid=launch]").Click();
        page.WaitForAssertion(() => page.Find("[data-testid=form-errors]").TextContent.ShouldContain("Maximum text length must be between 8 and 4096 tokens."));
        (await _host.Get<RunService>().ListAsync()).ShouldBeEmpty();

        page.Find("input[data-testid=max-tokens]").Change("64");
        page.Find("button[data-testid=launch]").Click();
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/runs/"));
        (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem().Request.HyperParameters.MaxTokens.ShouldBe(64);
    }

    /// <summary>The dataset list holds what the chosen model reads: the house BERT sees texts only, says how many image
    /// datasets are hidden, and says where to get a text dataset when there is none.</summary>
    [Fact]
    public async Task ATextModel_ListsOnlyTextDatasets_AndSaysWhatIsHidden()
    {
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        var none = RenderFor("bert_mlm.mini_house");
        none.Find("[data-testid=no-fitting-dataset]").TextContent.ShouldContain("No text datasets on this machine yet");
        // A text model's input is tokens, not pixels.
        none.Find("[data-testid=model-input]").TextContent.Trim().ShouldBe("Input up to 128 tokens (uncased WordPiece).");
        // Only the settings of the model's own modality are offered.
        none.FindAll("[data-testid=max-tokens]").ShouldNotBeEmpty();
        none.FindAll("[data-testid=image-size]").ShouldBeEmpty();
        none.FindAll("[data-testid=augment]").ShouldBeEmpty();

        WriteTextDataset();
        var page = RenderFor("bert_mlm.mini_house");
        page.Find("[data-testid=datasets-hidden]").TextContent.ShouldContain("1 text dataset this model reads; 1 image dataset is hidden.");
        page.FindAll("[data-testid=no-fitting-dataset]").ShouldBeEmpty();
        page.Find("button[data-testid=launch]").Click();
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/runs/"));
        (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem().DatasetId.ShouldBe("notes", "the text dataset was preselected");

        var image = RenderFor("resnet18.tv_in1k");
        image.Find("[data-testid=model-input]").TextContent.Trim().ShouldBe("Input 224 px in the manifest.");
        image.FindAll("[data-testid=max-tokens]").ShouldBeEmpty();
        image.FindAll("[data-testid=image-size]").ShouldNotBeEmpty();
        image.Find("[data-testid=datasets-hidden]").TextContent.ShouldContain("1 image dataset this model reads; 1 text dataset is hidden.");
        image.Find("button[data-testid=launch]").Click();
        image.WaitForAssertion(() => _host.Get<RunService>().ListAsync().Result.Count.ShouldBe(2));
        (await _host.Get<RunService>().ListAsync()).Select(r => r.DatasetId).ShouldContain("tiny");
    }

    /// <summary>A dataset page's "Train on it" preselects that dataset and a model that reads it; a preset model that
    /// cannot read it keeps its own kind of dataset.</summary>
    [Fact]
    public async Task ADatasetLink_PreselectsTheDataset_AndAModelThatReadsIt()
    {
        WriteTextDataset();
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo("/runs/new?dataset=notes");
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("[data-testid=model-input]").TextContent.ShouldContain("tokens", Case.Insensitive, "a text model was chosen for the text dataset");
        page.Find("button[data-testid=launch]").Click();
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/runs/"));
        (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem().DatasetId.ShouldBe("notes");

        nav.NavigateTo("/runs/new?model=resnet18.tv_in1k&dataset=notes");
        var mismatch = _host.Ctx.Render<NewRunPage>();
        mismatch.Find("button[data-testid=launch]").Click();
        mismatch.WaitForAssertion(() => _host.Get<RunService>().ListAsync().Result.Count.ShouldBe(2));
        (await _host.Get<RunService>().ListAsync()).Select(r => r.DatasetId).ShouldContain("tiny");
    }

    /// <summary>The page as opened from a model's "new run" link.</summary>
    IRenderedComponent<NewRunPage> RenderFor(string model)
    {
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo(nav.GetUriWithQueryParameter("model", model));
        return _host.Ctx.Render<NewRunPage>();
    }

    /// <summary>A two-class text dataset ("notes") beside the fixture's image dataset.</summary>
    void WriteTextDataset()
    {
        var labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        _host.Get<DatasetStore>().Write(
            new DatasetInfo { Id = "notes", Title = "Notes", ClassNames = ["a", "b"], License = "CC0-1.0", Provenance = "written by the test" },
            new TextSet { Texts = labels.Select((l, i) => $"note {i} of kind {(l == 0 ? "alpha" : "beta")}").ToList(), Labels = labels, ClassNames = ["a", "b"] },
            StratifiedSplitter.Split(labels, 3));
    }
}
