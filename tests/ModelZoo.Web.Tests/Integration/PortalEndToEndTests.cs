using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Runs;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>
/// The whole path with real components: HTTP API, EF Core on SQLite, the npm-fetched digits, the queue and worker,
/// TorchSharp training, the SignalR hub and the .NET SignalR client.
/// </summary>
public class PortalEndToEndTests : IAsyncLifetime
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    readonly PortalFactory _factory = new();
    HttpClient _http = default!;
    string _baseUrl = "";

    public async Task InitializeAsync()
    {
        _factory.StartServer();
        _baseUrl = _factory.ClientOptions.BaseAddress.ToString().TrimEnd('/');
        _http = new HttpClient { BaseAddress = new Uri(_baseUrl), Timeout = TimeSpan.FromMinutes(3) };
        // The portal fetches the digits with npm at start-up; wait until they are ready.
        var fetch = _factory.Services.GetRequiredService<DatasetFetchService>();
        await fetch.EnsureDefaultAsync(CancellationToken.None);
    }

    HubConnection Hub() => new HubConnectionBuilder()
        .WithUrl($"{_baseUrl}{RunsHub.Path}")
        .AddJsonProtocol(o => o.PayloadSerializerOptions = Json)
        .Build();

    static RunRequest SmallRun(int epochs = 2) => new()
    {
        ModelId = "resnet18.tv_in1k", DatasetId = MnistNpmDataset.Id, Name = "e2e",
        HyperParameters = new HyperParameters { Epochs = epochs, BatchSize = 32, LearningRate = 3e-3, Seed = 1, ImageSize = 16, TrainLimit = 128 },
    };

    [Fact]
    public async Task LaunchedRun_StreamsTypedProgress_AndSucceedsWithACard()
    {
        await using var hub = Hub();
        var live = new ConcurrentQueue<RunEvent>();
        hub.On<RunEvent>(nameof(IRunsClient.RunEvent), e => live.Enqueue(e));
        await hub.StartAsync();

        var response = await _http.PostAsJsonAsync("/api/runs", SmallRun(), Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var run = (await response.Content.ReadFromJsonAsync<RunView>(Json))!;
        var history = await hub.InvokeAsync<List<RunEvent>>("Join", run.Id);

        var all = await WaitForTerminal(run.Id, history, live);
        all.Last().Status!.Status.ShouldBe(RunStatus.Succeeded, all.Last().Status!.Message);
        all.Select(e => e.Seq).ShouldBe(Enumerable.Range(1, all.Count).Select(i => (long)i), "no gaps, no duplicates");
        var steps = all.Where(e => e.Kind == RunEventKind.Step).Select(e => e.Step!).ToList();
        steps.Count.ShouldBe(2 * 4);
        steps.ShouldAllBe(s => double.IsFinite(s.Loss) && s.LearningRate > 0 && s.LearningRate <= 3e-3 && s.SamplesPerSecond > 0);
        steps[^1].LearningRate.ShouldBeLessThan(steps.Max(s => s.LearningRate) / 10, "warmup, then cosine decay towards zero");
        all.Count(e => e.Kind == RunEventKind.Epoch).ShouldBe(2);
        all.First(e => e.Status?.Status == RunStatus.Running).Status!.Device.ShouldStartWith("CPU");

        var final = (await _http.GetFromJsonAsync<RunView>($"/api/runs/{run.Id}", Json))!;
        final.Result!.TestExamples.ShouldBe(1500);
        final.Result.TestAccuracy.ShouldBeGreaterThan(0.1);
        final.CardMarkdown.ShouldNotBeNull().ShouldContain("randomly initialised");
        var card = await _http.GetAsync($"/api/runs/{run.Id}/card.md");
        card.Content.Headers.ContentType!.MediaType.ShouldBe("text/markdown");
        card.Content.Headers.ContentDisposition!.FileName.ShouldNotBeNull().ShouldEndWith(".md");

        // The trained model, as the user takes it away: the file the result records and the card names.
        var saved = final.Result.TrainedWeights.ShouldNotBeNull();
        var weights = await _http.GetAsync($"/api/runs/{run.Id}/weights.safetensors");
        weights.StatusCode.ShouldBe(HttpStatusCode.OK);
        weights.Content.Headers.ContentDisposition!.FileName.ShouldBe($"run-{run.Id:N}.safetensors");
        var bytes = await weights.Content.ReadAsByteArrayAsync();
        bytes.LongLength.ShouldBe(saved.Bytes);
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)).ShouldBe(saved.Sha256);
        final.CardMarkdown.ShouldContain($"`{saved.File}`");
        final.CardMarkdown.ShouldContain($"sha256 `{saved.Sha256}`");

        // The same model as ONNX, labelled with the run's classes and naming the weights it was built from.
        var onnx = await _http.GetAsync($"/api/runs/{run.Id}/model.onnx");
        onnx.StatusCode.ShouldBe(HttpStatusCode.OK);
        onnx.Content.Headers.ContentDisposition!.FileName.ShouldBe($"run-{run.Id:N}.onnx");
        var model = Onnx.ModelProto.Parser.ParseFrom(await onnx.Content.ReadAsByteArrayAsync());
        var meta = model.MetadataProps.ToDictionary(m => m.Key, m => m.Value);
        meta["labels"].ShouldBe(JsonSerializer.Serialize(final.Result.ClassNames));
        meta["modelzoo.weights_sha256"].ShouldBe(saved.Sha256);
        model.Graph.Output.Single().Name.ShouldBe("logits");
    }

    [Fact]
    public async Task LateJoiner_ReceivesTheWholeHistoryFirst()
    {
        var run = (await (await _http.PostAsJsonAsync("/api/runs", SmallRun(epochs: 1), Json)).Content.ReadFromJsonAsync<RunView>(Json))!;
        await WaitForStatus(run.Id, s => s.IsTerminal());

        await using var hub = Hub();
        await hub.StartAsync();
        var history = await hub.InvokeAsync<List<RunEvent>>("Join", run.Id);
        history.First().Status!.Status.ShouldBe(RunStatus.Queued);
        history.Last().Status!.Status.ShouldBe(RunStatus.Succeeded, history.Last().Status!.Message);
        history.Count(e => e.Kind == RunEventKind.Step).ShouldBe(4);
    }

    [Fact]
    public async Task Api_RejectsUnknownModelAndDataset_With400AndReasons()
    {
        var response = await _http.PostAsJsonAsync("/api/runs", SmallRun() with { ModelId = "nope.none", DatasetId = "cifar" }, Json);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var body = await response.Content.ReadAsStringAsync();
        body.ShouldContain("Model 'nope.none' is not in the catalogue.");
        body.ShouldContain("Dataset 'cifar' does not exist");
    }

    [Fact]
    public async Task Api_CancelsARunningRun()
    {
        var request = SmallRun(epochs: 50) with { HyperParameters = SmallRun().HyperParameters with { Epochs = 50, TrainLimit = 0 } };
        var run = (await (await _http.PostAsJsonAsync("/api/runs", request, Json)).Content.ReadFromJsonAsync<RunView>(Json))!;
        await WaitForStatus(run.Id, s => s == RunStatus.Running);
        (await _http.PostAsync($"/api/runs/{run.Id}/cancel", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await WaitForStatus(run.Id, s => s.IsTerminal())).ShouldBe(RunStatus.Cancelled);
        (await _http.PostAsync($"/api/runs/{run.Id}/cancel", null)).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var weights = await _http.GetAsync($"/api/runs/{run.Id}/weights.safetensors");
        weights.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await weights.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()
            .ShouldBe($"Run {run.Id} was cancelled, so it saved no weights.");
        var onnx = await _http.GetAsync($"/api/runs/{run.Id}/model.onnx");
        onnx.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await onnx.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()
            .ShouldBe($"Run {run.Id} was cancelled, so it saved no weights.");
    }

    [Fact]
    public async Task Health_Catalogue_AndOpenApi_Answer()
    {
        (await _http.GetStringAsync("/healthz")).ShouldBe("Healthy");
        var models = await _http.GetStringAsync("/api/models");
        models.ShouldContain("\"params\":11689512");
        var openapi = await _http.GetStringAsync("/openapi/v1.json");
        foreach (var op in new[] { "LaunchRun", "ListRuns", "GetRun", "CancelRun", "DownloadRunWeights", "DownloadRunOnnx" }) openapi.ShouldContain(op);
        openapi.ShouldContain("\"/api/runs/{id}/weights.safetensors\"");
        (await _http.GetAsync($"/api/runs/{Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var unknown = Guid.NewGuid();
        var noRun = await _http.GetAsync($"/api/runs/{unknown}/weights.safetensors");
        noRun.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await noRun.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().ShouldBe($"There is no run {unknown}.");
        (await _http.GetAsync($"/api/runs/{unknown}/model.onnx")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.GetStringAsync("/css/app.css")).ShouldContain(".markdown-body", customMessage: "site assets from wwwroot-assets/ are served");
        (await _http.GetStringAsync("/")).ShouldContain("ResNet-18 (torchvision, ImageNet-1k)");
    }

    async Task<RunStatus> WaitForStatus(Guid id, Func<RunStatus, bool> done)
    {
        var until = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < until)
        {
            var v = (await _http.GetFromJsonAsync<RunView>($"/api/runs/{id}", Json))!;
            if (done(v.Status)) return v.Status;
            await Task.Delay(200);
        }
        throw new TimeoutException($"Run {id} did not reach the expected status.");
    }

    static async Task<List<RunEvent>> WaitForTerminal(Guid id, List<RunEvent> history, ConcurrentQueue<RunEvent> live)
    {
        var until = DateTime.UtcNow.AddMinutes(3);
        var bySeq = new SortedDictionary<long, RunEvent>();
        foreach (var e in history) bySeq[e.Seq] = e;
        while (DateTime.UtcNow < until)
        {
            while (live.TryDequeue(out var e)) if (e.RunId == id) bySeq[e.Seq] = e;
            if (bySeq.Values.LastOrDefault()?.Status?.Status.IsTerminal() == true) return [.. bySeq.Values];
            await Task.Delay(100);
        }
        throw new TimeoutException("The run did not finish in time.");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }
}
