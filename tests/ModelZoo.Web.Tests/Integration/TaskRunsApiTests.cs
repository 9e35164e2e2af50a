using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>Runs with several datasets over the REST API: the multitask strategy's further task datasets are checked at
/// launch, each refusal under the <c>TaskDatasetIds</c> key with the reason. Nothing is fetched: the datasets are written
/// by the test (blobs, a second image dataset and a text one), as the portal stores a fetched or uploaded one.</summary>
public class TaskRunsApiTests : IAsyncLifetime
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
    readonly PortalFactory _factory = new(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
    HttpClient _http = default!;

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        var store = _factory.Services.GetRequiredService<DatasetStore>();
        BlobsDataset.WriteTo(store);
        var labels = Enumerable.Range(0, 30).Select(i => i % 3).ToArray();
        store.Write(
            new DatasetInfo { Id = "stripes", Title = "Stripes", ClassNames = ["x", "y", "z"], Examples = 30, Width = 8, Height = 8, Channels = 1 },
            new ImageSet { Width = 8, Height = 8, Channels = 1, Pixels = labels.SelectMany(l => Enumerable.Repeat((byte)(l * 100), 64)).ToArray(), Labels = labels, ClassNames = ["x", "y", "z"] },
            StratifiedSplitter.Split(labels, 1));
        var two = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        store.Write(
            new DatasetInfo { Id = "notes", Title = "Notes", ClassNames = ["a", "b"], License = "CC0-1.0", Provenance = "written by the test" },
            new TextSet { Texts = two.Select((l, i) => $"note {i} of kind {(l == 0 ? "alpha" : "beta")}").ToList(), Labels = two, ClassNames = ["a", "b"] },
            StratifiedSplitter.Split(two, 3));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    static RunRequest Multitask(params string[] tasks) => new()
    {
        ModelId = "resnet18.tv_in1k", DatasetId = BlobsDataset.Id, Strategy = "multitask", TaskDatasetIds = tasks,
        HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16, Seed = 3 },
    };

    async Task<string> Refusal(RunRequest request)
    {
        var response = await _http.PostAsJsonAsync("/api/runs", request, Json);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        var problem = (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>(Json))!;
        problem.Errors.Keys.ShouldBe(["TaskDatasetIds"]);
        return problem.Errors["TaskDatasetIds"].Single();
    }

    [Fact]
    public async Task TwoImageDatasets_AreAccepted_AndRecordedInOrder()
    {
        var response = await _http.PostAsJsonAsync("/api/runs", Multitask("stripes"), Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var run = (await response.Content.ReadFromJsonAsync<RunView>(Json))!;
        // Only the launch is under test: stop it before it trains further than a step.
        await _http.PostAsync($"/api/runs/{run.Id}/cancel", null);
        run.Strategy.ShouldBe("multitask");
        run.Request.TaskDatasetIds.ShouldBe(["stripes"]);
        var stored = (await _http.GetFromJsonAsync<RunView>($"/api/runs/{run.Id}", Json))!;
        stored.Request.TaskDatasetIds.ShouldBe(["stripes"]);
    }

    [Fact]
    public async Task OneDataset_ARepeatedOne_OrTextForAnImageModel_AreRefusedUnderTaskDatasetIds()
    {
        (await Refusal(Multitask())).ShouldContain("needs 2 to 4 datasets, one per task: choose 1 more");
        (await Refusal(Multitask(BlobsDataset.Id))).ShouldContain("Dataset 'blobs' appears twice among the tasks: each task must be a different dataset (it is already the run's first task).");
        (await Refusal(Multitask("stripes", "stripes"))).ShouldContain("Dataset 'stripes' appears twice among the tasks");
        (await Refusal(Multitask("notes"))).ShouldContain("but task dataset 'notes' holds texts");
        (await Refusal(Multitask("missing"))).ShouldContain("Dataset 'missing' does not exist or is not ready.");
        // A single-task strategy takes no further datasets.
        (await Refusal(Multitask("stripes") with { Strategy = "feature-extraction" })).ShouldContain("learns one dataset");
        (await _http.GetFromJsonAsync<List<RunView>>("/api/runs", Json))!.ShouldBeEmpty("nothing was queued");
    }
}
