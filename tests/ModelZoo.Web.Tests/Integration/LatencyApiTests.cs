using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelZoo.Core.Catalog;
using ModelZoo.Web.Catalog;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>The latency API and the compare page through the real app: HTTP, the hosted queue, TorchSharp, SQLite.</summary>
public class LatencyApiTests : IAsyncLifetime
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    const string Small = "mobilenet_v3_small.tv_in1k";

    readonly PortalFactory _factory = new(new Dictionary<string, string?>
    {
        ["Datasets:FetchOnStartup"] = "false",
        ["Latency:Warmup"] = "0",
        ["Latency:Iterations"] = "2",
        ["Latency:BatchSize"] = "2",
    });
    HttpClient _http = default!;

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task Post_Queues_With202_ThenGetReturnsTheStoredHistory()
    {
        var post = await _http.PostAsync($"/api/models/{Small}/latency", null);
        post.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        post.Headers.Location!.ToString().ShouldBe($"/api/models/{Small}/latency");
        (await post.Content.ReadFromJsonAsync<LatencyJob>(Json))!.Batches.ShouldBe([1, 2]);

        LatencyApi.LatencyHistory history;
        var until = DateTime.UtcNow.AddMinutes(3);
        do
        {
            await Task.Delay(200);
            history = (await _http.GetFromJsonAsync<LatencyApi.LatencyHistory>($"/api/models/{Small}/latency", Json))!;
        } while (history.Job is { IsActive: true } && DateTime.UtcNow < until);

        history.Job!.State.ShouldBe(LatencyJobState.Succeeded, history.Job.Message);
        history.Measurements.Select(m => m.Batch).Order().ShouldBe([1, 2]);
        history.Measurements.ShouldAllBe(m => m.InputSize == 224 && m.Iterations == 2 && m.MedianMs > 0);
    }

    [Fact]
    public async Task Post_RefusesUnknownModels_AndQueuesTextModels()
    {
        (await _http.PostAsync("/api/models/no_such.model/latency", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _http.GetAsync("/api/models/no_such.model/latency")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        // Text models are timed on full sequences of their input size in tokens.
        (await _http.PostAsync("/api/models/bert_mlm.mini_house/latency", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task ComparePage_IsServed_AndNamesTheModelItCannotPlot()
    {
        var html = await _http.GetStringAsync("/compare?ids=resnet18.tv_in1k,bert.base_uncased_hf");

        html.ShouldContain("Top-1 against GFLOPs");
        html.ShouldContain("bert.base_uncased_hf (no published top-1)");
    }
}
