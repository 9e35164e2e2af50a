using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>Strategies over the REST API: their descriptions for scripts, validation of their options, the scratch
/// baseline of a run, metrics by name and sweeps.</summary>
public class StrategiesApiTests : IAsyncLifetime
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
        BlobsDataset.WriteTo(_factory.Services.GetRequiredService<DatasetStore>());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    static RunRequest Small(string strategy = "feature-extraction", JsonObject? options = null) => new()
    {
        ModelId = "resnet18.tv_in1k", DatasetId = "blobs", Strategy = strategy, Options = options,
        HyperParameters = new HyperParameters { Epochs = 2, BatchSize = 16, ImageSize = 16, Seed = 3 },
    };

    async Task<RunView> WaitDone(Guid id)
    {
        var until = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < until)
        {
            var v = (await _http.GetFromJsonAsync<RunView>($"/api/runs/{id}", Json))!;
            if (v.Status.IsTerminal()) return v;
            await Task.Delay(100);
        }
        throw new TimeoutException();
    }

    [Fact]
    public async Task Strategies_DescribeThemselves_WithTheirOptionsDefaultsAndLimits()
    {
        var list = (await _http.GetFromJsonAsync<JsonArray>("/api/strategies", Json))!;
        var ids = list.Select(s => s!["info"]!["id"]!.GetValue<string>()).ToList();
        ids.ShouldContain("feature-extraction");
        ids.ShouldContain("scratch");
        var partial = list.Single(s => s!["info"]!["id"]!.GetValue<string>() == "partial-fine-tune")!;
        partial["info"]!["explanation"]!.GetValue<string>().ShouldContain("BatchNorm");
        var depth = partial["options"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "frozenStages")!;
        depth["kind"]!.GetValue<string>().ShouldBe("FrozenStages");
        depth["default"]!.GetValue<int>().ShouldBe(2);
        depth["min"]!.GetValue<double>().ShouldBe(0);
        partial["options"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "layerwiseDecay")!["max"]!.GetValue<double>().ShouldBe(1);
    }

    [Fact]
    public async Task ABadOption_IsRefusedUnderItsOwnField_WithTheLimit()
    {
        var response = await _http.PostAsJsonAsync("/api/runs", Small("partial-fine-tune", new JsonObject { ["frozenStages"] = 9, ["speed"] = "fast" }), Json);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>(Json))!;
        problem.Errors.Keys.ShouldBe(["Options.speed"], ignoreOrder: true);
        problem.Errors["Options.speed"].Single().ShouldContain("has no option 'speed'. Its options: frozenStages, layerwiseDecay.");
        var depth = await _http.PostAsJsonAsync("/api/runs", Small("partial-fine-tune", new JsonObject { ["frozenStages"] = 9 }), Json);
        (await depth.Content.ReadFromJsonAsync<ValidationProblemDetails>(Json))!.Errors["Options.frozenStages"].Single()
            .ShouldContain("must be between 0 and 5: model 'resnet18.tv_in1k' has 5 backbone stages");
    }

    /// <summary>A run's scratch baseline has the same data, budget, settings and seed, from random weights; its
    /// named values are served by name.</summary>
    [Fact]
    public async Task TheScratchBaseline_OfARun_HasItsSettings_AndMetricsAreServedByName()
    {
        var created = await _http.PostAsJsonAsync("/api/runs", Small() with { HyperParameters = Small().HyperParameters with { LabelsPerClass = 10 } }, Json);
        var run = (await created.Content.ReadFromJsonAsync<RunView>(Json))!;
        var baseline = await _http.PostAsync($"/api/runs/{run.Id}/baseline", null);
        baseline.StatusCode.ShouldBe(HttpStatusCode.Created, await baseline.Content.ReadAsStringAsync());
        var b = (await baseline.Content.ReadFromJsonAsync<RunView>(Json))!;
        b.Strategy.ShouldBe("scratch");
        b.BaselineFor.ShouldBe(run.Id);
        b.Request.HyperParameters.ShouldBe(run.Request.HyperParameters);
        (await _http.PostAsync($"/api/runs/{b.Id}/baseline", null)).StatusCode.ShouldBe(HttpStatusCode.BadRequest, "a scratch run is its own baseline");
        (await _http.PostAsync($"/api/runs/{Guid.NewGuid()}/baseline", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var done = await WaitDone(run.Id);
        done.Status.ShouldBe(RunStatus.Succeeded, done.Error);
        done.Result!.TrainExamples.ShouldBe(20, "10 labels per class");
        var names = (await _http.GetFromJsonAsync<List<string>>($"/api/runs/{run.Id}/metrics", Json))!;
        names.ShouldBe(["loss", "lr", "train_acc", "train_loss", "val_acc", "val_loss"]);
        var val = (await _http.GetFromJsonAsync<List<JsonObject>>($"/api/runs/{run.Id}/metrics/val_acc", Json))!;
        val.Select(p => p["epoch"]!.GetValue<int>()).ShouldBe([1, 2]);
        var scratch = await WaitDone(b.Id);
        scratch.CardMarkdown!.ShouldContain("randomly initialised (seed 3), on purpose");
    }

    [Fact]
    public async Task ASweep_IsRefusedWhole_WhenARunWouldBeInvalid_AndQueuedWhole_Otherwise()
    {
        var bad = await _http.PostAsJsonAsync("/api/sweeps", Small() with { HyperParameters = Small().HyperParameters with { Epochs = 0 } }, Json);
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await _http.GetFromJsonAsync<List<RunView>>("/api/runs", Json))!.ShouldBeEmpty("nothing was queued");
        var ok = await _http.PostAsJsonAsync("/api/sweeps", Small(), Json);
        ok.StatusCode.ShouldBe(HttpStatusCode.Created);
        var sweep = (await ok.Content.ReadFromJsonAsync<JsonObject>(Json))!;
        sweep["runs"]!.AsArray().Count.ShouldBe(9);
        foreach (var r in (await _http.GetFromJsonAsync<List<RunView>>("/api/runs", Json))!) await _http.PostAsync($"/api/runs/{r.Id}/cancel", null);
    }
}
