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
        Act(page, () => page.Find("input[data-testid=epochs]").Change("0"));
        Act(page, () => page.Find("input[data-testid=lr]").Change("0"));
        Act(page, () => page.Find("button[data-testid=launch]").Click());

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
        Act(page, () => page.Find("input[data-testid=epochs]").Change("1"));
        Act(page, () => page.Find("button[data-testid=launch]").Click());

        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldMatch(RunPageUri));
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
        Act(page, () => page.Find("input[data-testid=max-tokens]").Change("4"));
        Act(page, () => page.Find("button[data-testid=launch]").Click());
        page.WaitForAssertion(() => page.Find("[data-testid=form-errors]").TextContent.ShouldContain("Maximum text length must be between 8 and 4096 tokens."));
        (await _host.Get<RunService>().ListAsync()).ShouldBeEmpty();

        Act(page, () => page.Find("input[data-testid=max-tokens]").Change("64"));
        Act(page, () => page.Find("button[data-testid=launch]").Click());
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldMatch(RunPageUri));
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
        Act(page, () => page.Find("button[data-testid=launch]").Click());
        page.WaitForAssertion(() => nav.Uri.ShouldMatch(RunPageUri));
        (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem().DatasetId.ShouldBe("notes", "the text dataset was preselected");

        var image = RenderFor("resnet18.tv_in1k");
        image.Find("[data-testid=model-input]").TextContent.Trim().ShouldBe("Input 224 px in the manifest.");
        image.FindAll("[data-testid=max-tokens]").ShouldBeEmpty();
        image.FindAll("[data-testid=image-size]").ShouldNotBeEmpty();
        image.Find("[data-testid=datasets-hidden]").TextContent.ShouldContain("1 image dataset this model reads; 1 text dataset is hidden.");
        Act(image, () => image.Find("button[data-testid=launch]").Click());
        await RunsCountReachesAsync(2);
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
        Act(page, () => page.Find("button[data-testid=launch]").Click());
        page.WaitForAssertion(() => nav.Uri.ShouldMatch(RunPageUri));
        (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem().DatasetId.ShouldBe("notes");

        nav.NavigateTo("/runs/new?model=resnet18.tv_in1k&dataset=notes");
        var mismatch = _host.Ctx.Render<NewRunPage>();
        Act(mismatch, () => mismatch.Find("button[data-testid=launch]").Click());
        await RunsCountReachesAsync(2);
        (await _host.Get<RunService>().ListAsync()).Select(r => r.DatasetId).ShouldContain("tiny");
    }

    /// <summary>The strategy's options come from its description: partial fine-tuning shows its frozen depth with the
    /// model's own stage names and its layer-wise decay, with help; the launched run records every option.</summary>
    [Fact]
    public async Task TheStrategysOptions_AreGeneratedFromItsDescription_AndGoWithTheRequest()
    {
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo("/runs/new?model=resnet18.tv_in1k&strategy=partial-fine-tune");
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("[data-testid=strategy-summary]").TextContent.ShouldBe(ModelZoo.Core.Strategies.PartialFineTuneOptions.Info.Summary);
        page.Find("[data-testid=strategy-explanation]").TextContent.ShouldContain("BatchNorm layers stay in inference mode");
        page.Find("[data-testid=option-frozenStages]").TextContent.ShouldContain("Frozen stages");
        page.Find("[data-testid=option-frozenStages] input").GetAttribute("value").ShouldBe("2: stem, layer1 frozen");
        Act(page, () => page.Find("[data-testid=option-layerwiseDecay] input").Change("0.5"));
        Act(page, () => page.Find("button[data-testid=launch]").Click());
        page.WaitForAssertion(() => nav.Uri.ShouldMatch(RunPageUri));
        var run = (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem();
        run.Strategy.ShouldBe("partial-fine-tune");
        run.Request.Options!["frozenStages"]!.GetValue<int>().ShouldBe(2);
        run.Request.Options["layerwiseDecay"]!.GetValue<double>().ShouldBe(0.5);
        run.Request.HyperParameters.ImageSize.ShouldBe(224, "the form's input size starts at the model's own");
    }

    [Fact]
    public async Task AnOptionOutOfItsLimits_IsExplainedUnderTheOption_AndNothingIsLaunched()
    {
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo("/runs/new?model=resnet18.tv_in1k&strategy=full-fine-tune");
        var page = _host.Ctx.Render<NewRunPage>();
        Act(page, () => page.Find("[data-testid=option-layerwiseDecay] input").Change("3"));
        Act(page, () => page.Find("input[data-testid=label-budget]").Change("0"));
        Act(page, () => page.Find("button[data-testid=launch]").Click());
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=option-layerwiseDecay]").TextContent.ShouldContain("Layer-wise decay must be between 0.05 and 1; it is 3.");
            page.Find("[data-testid=form-errors]").TextContent.ShouldContain("Label budget must be at least 1 example per class");
        });
        (await _host.Get<RunService>().ListAsync()).ShouldBeEmpty();
    }

    /// <summary>Classes that differ in size by more than 3x make the form suggest balancing; one click sets it.</summary>
    [Fact]
    public async Task AnImbalancedDataset_MakesTheFormSuggestClassBalance()
    {
        var labels = Enumerable.Range(0, 50).Select(i => i < 44 ? 0 : 1).ToArray();
        _host.Get<DatasetStore>().Write(
            new DatasetInfo { Id = "skewed", Title = "Skewed", ClassNames = ["many", "few"], Examples = 50, Width = 2, Height = 2, Channels = 1, Origin = DatasetOrigin.Upload },
            new ImageSet { Width = 2, Height = 2, Channels = 1, Pixels = new byte[200], Labels = labels, ClassNames = ["many", "few"] },
            StratifiedSplitter.Split(labels, 1));
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo("/runs/new?dataset=skewed");
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("[data-testid=imbalance]").TextContent.ShouldContain("differ in size by 7.3x");
        Act(page, () => page.Find("[data-testid=use-balance]").Click());
        page.FindAll("[data-testid=imbalance]").ShouldBeEmpty();
        Act(page, () => page.Find("button[data-testid=launch]").Click());
        page.WaitForAssertion(() => nav.Uri.ShouldMatch(RunPageUri));
        (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem().Request.HyperParameters.ClassBalance.ShouldBe(ModelZoo.Core.Runs.ClassBalance.WeightedLoss);
    }

    /// <summary>One click queues the whole transferability sweep and opens its page.</summary>
    [Fact]
    public async Task TheSweepButton_QueuesEveryDepth_FeatureExtraction_FullAndScratch()
    {
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo("/runs/new?model=resnet18.tv_in1k");
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("button[data-testid=sweep]").TextContent.ShouldContain("(9 runs)");
        Act(page, () => page.Find("button[data-testid=sweep]").Click());
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/sweeps/"));
        var runs = await _host.Get<RunService>().ListAsync();
        runs.Count.ShouldBe(9, "feature extraction, depths 0-5, full fine-tune and scratch");
        runs.Select(r => r.Strategy).Distinct().Order().ShouldBe(["feature-extraction", "full-fine-tune", "partial-fine-tune", "scratch"]);
        runs.Where(r => r.Strategy == "partial-fine-tune").Select(r => r.Request.Options!["frozenStages"]!.GetValue<int>()).Order().ShouldBe([0, 1, 2, 3, 4, 5]);
        runs.Select(r => r.ExperimentId).Distinct().ShouldHaveSingleItem().ShouldNotBeNull();
    }

    /// <summary>A domain-adaptation strategy asks for a target and offers the listed pairs; others do not.</summary>
    [Fact]
    public void OnlyStrategiesThatAdaptToATarget_AskForOne()
    {
        var page = RenderFor("resnet18.tv_in1k");
        page.FindAll("[data-testid=target]").ShouldBeEmpty();
        var needsTarget = _host.Get<ModelZoo.Core.Strategies.IStrategyCatalog>().All.FirstOrDefault(s => s.Info.NeedsTarget);
        if (needsTarget is null) return; // no domain-adaptation strategy is registered in this build
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo($"/runs/new?model=resnet18.tv_in1k&strategy={needsTarget.Id}");
        var da = _host.Ctx.Render<NewRunPage>();
        da.FindAll("[data-testid=target]").ShouldNotBeEmpty();
        da.Find("[data-testid=pair-glyphs-digits-to-mnist]").TextContent.ShouldContain("fetch both datasets first");
    }

    /// <summary>A run's page, not the new-run page (whose address contains "/runs/" too): waiting for this, not for
    /// "/runs/", is what makes a test wait for the launch to finish before it navigates elsewhere.</summary>
    const string RunPageUri = "/runs/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

    /// <summary>The page as opened from a model's "new run" link.</summary>
    /// <summary>The house BERT records its pretraining corpus: texts that hold one of its WordNet glosses word for word
    /// are counted and warned about before launch; texts it never saw get a quiet line instead.</summary>
    [Fact]
    public void PretrainingOverlap_IsCountedBeforeLaunch_ForAModelThatRecordsItsCorpus()
    {
        WriteTextDataset();
        var clean = RenderFor("bert_mlm.mini_house");
        clean.WaitForAssertion(() => clean.Find("[data-testid=pretraining-overlap-none]").TextContent.ShouldContain("None of this dataset's test texts"), TimeSpan.FromSeconds(10));
        clean.FindAll("[data-testid=pretraining-overlap]").ShouldBeEmpty();

        // Even-numbered texts carry a WordNet 3.0 gloss the house BERT was pretrained on, as a sentence of their own.
        var labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        var texts = labels.Select((l, i) => i % 2 == 0 ? $"Note {i}. The act of moving something from one location to another." : $"Note {i} is new text of kind beta.").ToList();
        var split = StratifiedSplitter.Split(labels, 3);
        _host.Get<DatasetStore>().Write(new DatasetInfo { Id = "glossy", Title = "Glossy", ClassNames = ["a", "b"], License = "CC0-1.0", Provenance = "written by the test" },
            new TextSet { Texts = texts, Labels = labels, ClassNames = ["a", "b"] }, split);
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo(nav.GetUriWithQueryParameters(new Dictionary<string, object?> { ["model"] = "bert_mlm.mini_house", ["dataset"] = "glossy" }));
        var page = _host.Ctx.Render<NewRunPage>();
        var seen = split.Test.Count(i => i % 2 == 0);
        page.WaitForAssertion(() =>
        {
            var warning = page.Find("[data-testid=pretraining-overlap]").TextContent;
            warning.ShouldContain($"{seen} of the {split.Test.Length} test texts");
            warning.ShouldContain("WordNet 3.0 glosses");
            warning.ShouldContain($"Training split: {split.Train.Count(i => i % 2 == 0)} of {split.Train.Length}.");
        }, TimeSpan.FromSeconds(10));
    }

    /// <summary>Waits until the store holds that many runs, asking it asynchronously: a blocking read inside bUnit's
    /// wait would hold the renderer's thread that the launch may still need (it timed out on a busy machine).</summary>
    async Task RunsCountReachesAsync(int count)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while ((await _host.Get<RunService>().ListAsync()).Count < count && DateTime.UtcNow < until) await Task.Delay(20);
        (await _host.Get<RunService>().ListAsync()).Count.ShouldBe(count);
    }

    /// <summary>The trainable map and the launch linter follow the form: a full fine-tune of the house resnet18 on the
    /// tiny dataset's few examples warns about them, a batch of 4 adds the BatchNorm warning, and the warnings do not
    /// stop the launch.</summary>
    [Fact]
    public async Task TheMap_AndTheWarnings_FollowTheForm_AndDoNotBlockTheLaunch()
    {
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        nav.NavigateTo(nav.GetUriWithQueryParameters(new Dictionary<string, object?> { ["model"] = "resnet18.glyphs_house", ["strategy"] = "full-fine-tune" }));
        var page = _host.Ctx.Render<NewRunPage>();
        var wait = TimeSpan.FromSeconds(30);
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=map-row-stem]").TextContent.ShouldContain("trained");
            page.Find("[data-testid=map-row-head]").TextContent.ShouldContain("new");
            page.FindAll("[data-testid=warning-few-examples]").ShouldHaveSingleItem();
            page.FindAll("[data-testid=warning-batchnorm-small-batch]").ShouldBeEmpty();
        }, wait);

        Act(page, () => page.Find("input[data-testid=batch-size]").Change("4"));
        page.WaitForAssertion(() => page.Find("[data-testid=warning-batchnorm-small-batch]").TextContent.ShouldContain("batches of 4"), wait);

        Act(page, () => page.Find("input[data-testid=epochs]").Change("1"));
        Act(page, () => page.Find("button[data-testid=launch]").Click());
        page.WaitForAssertion(() => nav.Uri.ShouldMatch(RunPageUri));
        (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem().Request.HyperParameters.BatchSize.ShouldBe(4);
    }

    /// <summary>Finds and fires on the renderer's dispatcher: the form re-renders on its own (the launch plan refreshes
    /// after a change), and an element found before such a render has lost its handler by the time it is clicked
    /// (bUnit's UnknownEventHandlerIdException, seen in CI on a busy machine).</summary>
    static void Act(IRenderedComponent<NewRunPage> page, Action act) => page.InvokeAsync(act).GetAwaiter().GetResult();

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
