using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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
    static JsonSerializerOptions Json => RunPolling.Json;
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

    Task<RunView> WaitDone(Guid id) => _http.WaitForTerminalAsync(id, TimeSpan.FromMinutes(5));

    /// <summary>Two tiny runs (8x8 images at 16 px, one epoch, as the other portal tests train): a single-task run on
    /// the second dataset, then the multitask run, whose card sets that task beside it.</summary>
    [Fact]
    public async Task TwoImageDatasets_AreAccepted_Trained_AndTheCardListsEachTaskBesideItsSingleTaskRun()
    {
        var single = await _http.PostAsJsonAsync("/api/runs", Multitask() with { DatasetId = "stripes", Strategy = "feature-extraction", TaskDatasetIds = null }, Json);
        single.StatusCode.ShouldBe(HttpStatusCode.Created, await single.Content.ReadAsStringAsync());
        var peer = await WaitDone((await single.Content.ReadFromJsonAsync<RunView>(Json))!.Id);
        peer.Status.ShouldBe(RunStatus.Succeeded, peer.Error);

        var response = await _http.PostAsJsonAsync("/api/runs", Multitask("stripes"), Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var run = (await response.Content.ReadFromJsonAsync<RunView>(Json))!;
        run.Strategy.ShouldBe("multitask");
        run.Request.TaskDatasetIds.ShouldBe(["stripes"]);
        var done = await WaitDone(run.Id);
        done.Status.ShouldBe(RunStatus.Succeeded, done.Error);
        done.Result!.Tasks.Select(t => t.DatasetId).ShouldBe([BlobsDataset.Id, "stripes"]);
        done.Result.Tasks[1].ClassNames.ShouldBe(["x", "y", "z"]);
        var card = done.CardMarkdown!;
        card.ShouldContain("## Tasks");
        card.ShouldContain("datasets:\n- blobs\n- stripes\n");
        var t2 = done.Result.Tasks[1];
        var diff = (t2.TestAccuracy - peer.Result!.TestAccuracy) * 100;
        card.ShouldContain($"| 2 | `stripes` | 3 (x, y, z) | {t2.TrainExamples} |");
        card.ShouldContain($"(`{peer.Id}`, feature-extraction) | {(diff >= 0 ? "+" : "")}{diff.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)} points |");
    }

    /// <summary>A tiny continual run (one epoch per task): the acc_t values it reported per task end, its stored matrix
    /// and its card's matrix agree.</summary>
    [Fact]
    public async Task AContinualRun_ReportsItsMatrixPerTaskEnd_AndItsCardTabulatesIt()
    {
        var response = await _http.PostAsJsonAsync("/api/runs", Multitask("stripes") with { Strategy = "continual" }, Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var done = await WaitDone((await response.Content.ReadFromJsonAsync<RunView>(Json))!.Id);
        done.Status.ShouldBe(RunStatus.Succeeded, done.Error);
        var m = done.Result!.TaskMatrix!;
        m.Tasks.ShouldBe([BlobsDataset.Id, "stripes"]);
        m.Accuracy.Count.ShouldBe(2);
        m.Accuracy[0][1].ShouldBeNull("task 2 was not learnt after task 1");
        var acc1 = (await _http.GetFromJsonAsync<List<System.Text.Json.Nodes.JsonObject>>($"/api/runs/{done.Id}/metrics/acc_t1", Json))!;
        acc1.Select(p => p["value"]!.GetValue<double>()).ShouldBe([m.Accuracy[0][0]!.Value, m.Accuracy[1][0]!.Value], tolerance: 1e-6);
        var card = done.CardMarkdown!;
        card.ShouldContain("### Accuracy matrix");
        card.ShouldContain($"| task 1 (`blobs`) | {(m.Accuracy[0][0]!.Value * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)} % | – |");
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
