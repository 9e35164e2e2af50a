using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Runs;

/// <summary><c>/api/experiments</c> on the real portal (SQLite, migrations, the real worker training tiny runs).</summary>
public sealed class ExperimentsApiTests : IAsyncLifetime
{
    readonly PortalFactory _factory = new(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
    HttpClient _http = default!;

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        BlobsDataset.WriteTo(_factory.Services.GetRequiredService<DatasetStore>());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    static ExperimentRequest Grid(int epochs = 1) => new()
    {
        Name = "Two backbones", DatasetId = "blobs", Models = ["resnet18.tv_in1k", "mobilenet_v2.glyphs_house"],
        Strategies = [new StrategyChoice { Id = "feature-extraction" }, new StrategyChoice { Id = "partial-fine-tune", Options = new JsonObject { ["frozenStages"] = 3 } }],
        Seeds = [1],
        HyperParameters = new HyperParameters { Epochs = epochs, BatchSize = 16, ImageSize = 16 },
    };

    async Task<JsonObject> Get(Guid id) => (await _http.GetFromJsonAsync<JsonObject>($"/api/experiments/{id}", RunPolling.Json))!;

    static Guid IdOf(JsonNode? n) => n!["id"]!.GetValue<Guid>();

    async Task<JsonObject> WaitUntil(Guid id, Func<JsonObject, bool> done)
    {
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (DateTime.UtcNow < until)
        {
            var x = await Get(id);
            if (done(x)) return x;
            await Task.Delay(250);
        }
        throw new TimeoutException($"Experiment {id} did not get there in time.");
    }

    static bool AllFinished(JsonObject x) => x["runs"]!.AsArray().All(r => r!["status"]!.GetValue<string>() is "Succeeded" or "Failed" or "Cancelled");

    /// <summary>The issue's end-to-end check: a 2 × 2 × 1 grid of tiny runs through the API, its cells read back.</summary>
    [Fact]
    public async Task AGrid_IsQueuedWhole_TrainedByTheWorker_AndItsCellsReadBack()
    {
        var response = await _http.PostAsJsonAsync("/api/experiments", Grid(), RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>(RunPolling.Json))!;
        var id = IdOf(created);
        response.Headers.Location!.ToString().ShouldBe($"/api/experiments/{id}");
        created["kind"]!.GetValue<string>().ShouldBe("grid");
        created["runs"]!.AsArray().Count.ShouldBe(4);
        created["runs"]!.AsArray().ShouldAllBe(r => r!["experimentId"]!.GetValue<Guid>() == id);

        var x = await WaitUntil(id, AllFinished);
        var grid = x["grid"]!;
        grid["rows"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["resnet18.tv_in1k", "mobilenet_v2.glyphs_house"]);
        grid["columns"]!.AsArray().Select(c => c!["label"]!.GetValue<string>()).ShouldBe(["feature-extraction", "partial-fine-tune (frozenStages 3)"]);
        var runs = x["runs"]!.AsArray().ToDictionary(IdOf);
        runs.Values.ShouldAllBe(r => r!["status"]!.GetValue<string>() == "Succeeded", string.Join("; ", runs.Values.Select(r => r!["error"]?.ToString())));
        var cells = grid["cells"]!.AsArray().SelectMany(row => row!.AsArray()).ToList();
        cells.Count.ShouldBe(4);
        foreach (var cell in cells)
        {
            var only = cell!["runs"]!.AsArray().ShouldHaveSingleItem()!;
            var run = runs[IdOf(only)]!;
            run["modelId"]!.GetValue<string>().ShouldBe(cell["modelId"]!.GetValue<string>());
            cell["mean"]!.GetValue<double>().ShouldBe(run["result"]!["testAccuracy"]!.GetValue<double>());
            cell["std"].ShouldBeNull("one seed has no spread");
            (cell["n"]!.GetValue<int>(), cell["planned"]!.GetValue<int>()).ShouldBe((1, 1));
        }
        var best = cells.Where(c => c!["best"]!.GetValue<bool>()).ShouldHaveSingleItem()!;
        best["mean"]!.GetValue<double>().ShouldBe(cells.Max(c => c!["mean"]!.GetValue<double>()));

        var list = (await _http.GetFromJsonAsync<JsonArray>("/api/experiments", RunPolling.Json))!;
        var summary = list.ShouldHaveSingleItem()!;
        (summary["name"]!.GetValue<string>(), summary["runs"]!.GetValue<int>(), summary["succeeded"]!.GetValue<int>()).ShouldBe(("Two backbones", 4, 4));
        (await _http.GetAsync($"/api/sweeps/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound, "a grid is not a sweep");

        // The pages prerender on the real portal (services, routes and the database as the browser meets them).
        var page = await _http.GetStringAsync($"/experiments/{id}");
        page.ShouldContain("data-testid=\"experiment-grid\"");
        page.ShouldContain("4 of 4 runs finished");
        page.ShouldContain($"/runs/compare?ids={IdOf(cells[0]!["runs"]![0])}");
        (await _http.GetStringAsync("/experiments")).ShouldContain($"href=\"/experiments/{id}\"");
        (await _http.GetStringAsync("/experiments/new")).ShouldContain("data-testid=\"launch\"");
    }

    /// <summary>Nothing is queued when any planned run would be refused; each error names the experiment's field.</summary>
    [Fact]
    public async Task ABadGrid_IsRefusedWhole_WithErrorsUnderTheExperimentsFields()
    {
        var bad = Grid() with
        {
            Models = ["resnet18.tv_in1k", "no-such-model"],
            Strategies = [new StrategyChoice { Id = "partial-fine-tune", Options = new JsonObject { ["frozenStages"] = 9 } }],
        };
        var response = await _http.PostAsJsonAsync("/api/experiments", bad, RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>(RunPolling.Json))!;
        problem.Errors.Keys.ShouldContain("Models[1]");
        problem.Errors.Keys.ShouldContain("Strategies[0].Options.frozenStages");
        problem.Errors["Strategies[0].Options.frozenStages"].Single().ShouldContain("resnet18.tv_in1k");
        var epochs = await _http.PostAsJsonAsync("/api/experiments", Grid() with { HyperParameters = Grid().HyperParameters with { Epochs = 0 } }, RunPolling.Json);
        (await epochs.Content.ReadFromJsonAsync<ValidationProblemDetails>(RunPolling.Json))!.Errors.Keys.ShouldContain("HyperParameters.Epochs");

        var empty = await _http.PostAsJsonAsync("/api/experiments", new ExperimentRequest { DatasetId = "blobs", Seeds = [1, 1] }, RunPolling.Json);
        empty.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await empty.Content.ReadFromJsonAsync<ValidationProblemDetails>(RunPolling.Json))!.Errors.Keys.ShouldBe(["Models", "Strategies", "Seeds"], ignoreOrder: true);

        var huge = await _http.PostAsJsonAsync("/api/experiments", Grid() with { Seeds = Enumerable.Range(1, 51).ToList() }, RunPolling.Json);
        (await huge.Content.ReadFromJsonAsync<ValidationProblemDetails>(RunPolling.Json))!.Errors["Runs"].Single().ShouldContain("204 runs");

        (await _http.GetFromJsonAsync<JsonArray>("/api/runs", RunPolling.Json))!.ShouldBeEmpty("nothing was queued");
        (await _http.GetFromJsonAsync<JsonArray>("/api/experiments", RunPolling.Json))!.ShouldBeEmpty();
        (await _http.GetAsync($"/api/experiments/{Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.PostAsync($"/api/experiments/{Guid.NewGuid()}/cancel", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var openapi = await _http.GetStringAsync("/openapi/v1.json");
        foreach (var op in new[] { "LaunchExperiment", "ListExperiments", "GetExperiment", "CancelExperiment" }) openapi.ShouldContain(op);
    }

    /// <summary>Cancelling the experiment stops the training run and every queued one; the cells count them, not average them.</summary>
    [Fact]
    public async Task CancellingAnExperiment_CancelsEveryQueuedAndRunningRun()
    {
        // 500 epochs: still training when the test cancels.
        var response = await _http.PostAsJsonAsync("/api/experiments", Grid(epochs: 500) with { Models = ["resnet18.tv_in1k"], Seeds = [1, 2] }, RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var id = IdOf(await response.Content.ReadFromJsonAsync<JsonObject>(RunPolling.Json));
        await WaitUntil(id, x => x["runs"]!.AsArray().Any(r => r!["status"]!.GetValue<string>() == "Running"));

        var cancel = await _http.PostAsync($"/api/experiments/{id}/cancel", null);
        cancel.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await cancel.Content.ReadFromJsonAsync<JsonObject>(RunPolling.Json))!["runs"]!.AsObject().Count.ShouldBe(4, "one running, three queued");

        var x = await WaitUntil(id, AllFinished);
        x["runs"]!.AsArray().ShouldAllBe(r => r!["status"]!.GetValue<string>() == "Cancelled");
        x["cancelledAt"].ShouldNotBeNull();
        var cells = x["grid"]!["cells"]!.AsArray().SelectMany(row => row!.AsArray()).ToList();
        cells.ShouldAllBe(c => c!["cancelled"]!.GetValue<int>() == 2 && c["mean"] == null && c["n"]!.GetValue<int>() == 0);
        x["grid"]!["best"].ShouldBeNull();
    }
}
