using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Playwright;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Tests.Accounts;
using ModelZoo.Web.Tests.Integration;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace ModelZoo.Browser.Tests;

/// <summary>An analyst in a real browser: launching and watching runs, comparing them, taking a card away, uploading data.</summary>
[Collection(BrowserCollection.Name)]
public class AnalystTests(BrowserPortal fixture, ITestOutputHelper output)
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    const string Form = $"/runs/new?model=resnet18.tv_in1k&dataset={BlobsDataset.Id}&strategy=full-fine-tune";

    [Fact]
    public async Task AnAnalyst_LaunchesARun_WatchesItsChartGrowLive_AndCancelsASecondRun()
    {
        await using var w = await fixture.OpenAsync("launch");
        var page = w.Page;
        await page.Context.AddInitScriptAsync(LiveChart.Recorder);
        await w.LoginAsync("analyst-user", AccountsPortal.Password);
        await w.ShotAsync("catalogue");

        // The launch button is there for an analyst, and leads to the form.
        await page.GetByTestId("nav-new-run").ClickAsync();
        await page.WaitForURLAsync("**/runs/new");
        await page.GetByTestId("launch").WaitForAsync();
        await w.ShotAsync("new-run");

        // A small run: ResNet-18 (random weights) on the tiny Blobs dataset, preset through the form's query.
        await w.GotoAsync(Form);
        await FillRunFormAsync(w, "browser live", epochs: 3, imageSize: 64);
        await w.ShotAsync("new-run-filled");
        await page.EvaluateAsync("() => window.__sameDocument = true");
        await page.GetByTestId("launch").ClickAsync();
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/runs/[0-9a-f-]{36}$"));

        // The curve grows while the run trains, in this same document: no reload.
        await page.WaitForFunctionAsync(LiveChart.HasGrown, null, new PageWaitForFunctionOptions { Timeout = 120_000 });
        await w.ShotAsync("run-live");
        await Expect(page.GetByTestId("status").First).ToHaveTextAsync("Succeeded", new() { Timeout = 120_000 });
        (await page.EvaluateAsync<bool>("() => window.__sameDocument === true")).ShouldBeTrue("the page was reloaded");
        var seen = await page.EvaluateAsync<string>(LiveChart.Seen);
        // What plotly.js holds ends equal to what the server rendered.
        await page.WaitForFunctionAsync("""
            () => { const f = document.querySelector('figure[data-testid=loss-chart]'), gd = f.querySelector('.js-plotly-plot');
                    return Number(f.dataset.points) > 0 && gd.data.reduce((n, t) => n + t.x.length, 0) === Number(f.dataset.points); }
            """);
        await w.ShotAsync("run-finished");

        // A second, long run is cancelled from its page while it trains.
        await w.GotoAsync(Form);
        await FillRunFormAsync(w, "browser cancel", epochs: 200, imageSize: 64);
        await page.GetByTestId("launch").ClickAsync();
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/runs/[0-9a-f-]{36}$"));
        await Expect(page.GetByTestId("status").First).ToHaveTextAsync("Running", new() { Timeout = 120_000 });
        await w.ShotAsync("second-run-running");
        await page.GetByTestId("cancel").ClickAsync();
        await Expect(page.GetByTestId("status").First).ToHaveTextAsync("Cancelled", new() { Timeout = 120_000 });
        await Expect(page.GetByTestId("cancel")).ToHaveCountAsync(0);
        await w.ShotAsync("second-run-cancelled");

        output.WriteLine($"loss chart, server points/plotted points per update: {seen}");
        w.ShouldHaveNoErrors();
    }

    [Fact]
    public async Task AnAnalyst_ComparesTwoFinishedRuns_DownloadsACard_AndUploadsADataset()
    {
        // Two finished runs that differ in their learning rate, launched through the API as the analyst.
        using var api = fixture.Portal.Client("analyst");
        var ids = new List<Guid>();
        foreach (var (name, lr) in new[] { ("compare slow", 1e-3), ("compare fast", 1e-2) })
        {
            var response = await api.PostAsJsonAsync("/api/runs", new RunRequest
            {
                ModelId = "resnet18.tv_in1k", DatasetId = BlobsDataset.Id, Name = name,
                HyperParameters = new HyperParameters { Epochs = 2, BatchSize = 16, LearningRate = lr, Seed = 1, ImageSize = 16 },
            }, Json);
            response.EnsureSuccessStatusCode();
            ids.Add((await response.Content.ReadFromJsonAsync<RunView>(Json))!.Id);
        }

        await using var w = await fixture.OpenAsync("compare");
        var page = w.Page;
        await w.LoginAsync("analyst-user", AccountsPortal.Password);
        await w.GotoAsync("/runs");
        // The list follows status changes live: wait until both show as finished.
        foreach (var id in ids)
            await Expect(page.Locator("tr", new() { Has = page.GetByTestId($"select-{id}") }).GetByTestId("status"))
                .ToHaveTextAsync("Succeeded", new() { Timeout = 150_000 });
        await w.ShotAsync("runs");
        foreach (var id in ids)
            await page.GetByTestId($"select-{id}").Locator(SelfOrInput).CheckAsync();
        await Expect(page.GetByTestId("selected-count")).ToContainTextAsync("2 selected");
        await page.GetByTestId("compare").ClickAsync();
        await page.WaitForURLAsync("**/runs/compare?ids=*");
        await Expect(page.GetByTestId("compare-run")).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("compare-test-acc")).ToHaveCountAsync(2);
        await page.Locator(".js-plotly-plot").First.WaitForAsync();
        // The runs differ in learning rate, so the parallel coordinates chart (WebGL, through regl) is drawn too.
        var parallel = page.GetByTestId("compare-parallel");
        await Expect(parallel).ToHaveAttributeAsync("data-lines", "2");
        await Expect(parallel.Locator("canvas").First).ToBeAttachedAsync();
        await Expect(parallel.GetByText("learning rate").First).ToBeVisibleAsync();
        await Expect(parallel.GetByText("WebGL is not supported")).ToHaveCountAsync(0);
        await w.ShotAsync("runs-compare");

        // The run's card, on its page, taken away as Markdown.
        await page.GetByTestId("compare-run").GetByText("compare fast").ClickAsync();
        await page.WaitForURLAsync($"**/runs/{ids[1]}");
        await Expect(page.GetByTestId("card")).ToContainTextAsync("compare fast");
        await w.ShotAsync("run-card");
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("download-card").ClickAsync());
        download.SuggestedFilename.ShouldEndWith(".md");
        var card = await File.ReadAllTextAsync((await download.PathAsync())!);
        card.ShouldContain("compare fast");
        card.ShouldContain("resnet18.tv_in1k");

        // An image dataset (a zip of PNGs drawn here) through the upload form, then its page.
        await w.GotoAsync("/datasets");
        await w.ShotAsync("datasets");
        var zip = ModelZoo.Infrastructure.Tests.Datasets.UploadCorpus.Zip().Class("circle", 4).Class("square", 4).Bytes();
        await page.GetByTestId("upload-name").Locator(SelfOrInput).FillAsync("Browser shapes");
        // MudFileUpload's input is hidden (its button opens the picker); a person's choice arrives as this input's files.
        await page.Locator("input[type=file][accept='.zip']")
            .SetInputFilesAsync(new FilePayload { Name = "shapes.zip", MimeType = "application/zip", Buffer = zip });
        await Expect(page.GetByTestId("upload-chosen")).ToContainTextAsync("shapes.zip");
        await page.GetByTestId("upload-import").ClickAsync();
        await page.WaitForURLAsync($"**/datasets/{ImageFolderImporter.IdFor("Browser shapes")}", new() { Timeout = 60_000 });
        await Expect(page.Locator("h4, h5").First).ToContainTextAsync("Browser shapes");
        await Expect(page.GetByTestId("train-on-it")).ToBeVisibleAsync();
        await w.ShotAsync("dataset");

        w.ShouldHaveNoErrors();
    }

    /// <summary>Fills the form's numbers the way a person does (type, then leave the field) for a run that trains in seconds.</summary>
    static async Task FillRunFormAsync(WatchedPage w, string name, int epochs, int imageSize)
    {
        var page = w.Page;
        await FillAsync(page.GetByTestId("epochs"), epochs);
        await FillAsync(page.GetByTestId("image-size"), imageSize);
        await FillAsync(page.GetByLabel("Batch size"), 8);
        await page.GetByLabel("Run name (optional)").FillAsync(name);
        await page.GetByLabel("Run name (optional)").PressAsync("Tab");
    }

    // MudBlazor puts a component's data-testid on its input or on an element around it, depending on the component.
    const string SelfOrInput = "xpath=descendant-or-self::input";

    static async Task FillAsync(ILocator field, int value)
    {
        var input = field.Locator(SelfOrInput).First;
        await input.FillAsync(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await input.PressAsync("Tab");
        await Expect(input).ToHaveValueAsync(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
