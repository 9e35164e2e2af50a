using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Plan;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Tests.Runs.Predict;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The real portal with a small image dataset and no runs, for the plan API.</summary>
public sealed class PlanPortal : IAsyncLifetime
{
    public PortalFactory Factory { get; } = new(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
    public HttpClient Http { get; private set; } = default!;

    public Task InitializeAsync()
    {
        Factory.StartServer();
        Http = new HttpClient { BaseAddress = Factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        var (info, images, split) = TintedImages.Tinted(perClass: 10, seed: 4);
        Factory.Services.GetRequiredService<DatasetStore>().Write(info, images, split);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Factory.DisposeAsync();
    }
}

/// <summary><c>POST /api/runs/plan</c>: the map from the real model and strategy, the warnings, and the launch's own
/// validation answer for a bad request; nothing stored.</summary>
public sealed class RunPlanApiTests(PlanPortal portal) : IClassFixture<PlanPortal>
{
    HttpClient Http => portal.Http;

    // The house resnet18: bundled weights (so its backbone is pretrained here), pretrained at 32 px.
    static RunRequest Partial(int frozen, HyperParameters h) => new()
    {
        ModelId = "resnet18.glyphs_house", DatasetId = "tinted", Strategy = "partial-fine-tune",
        Options = new JsonObject { ["frozenStages"] = frozen }, HyperParameters = h,
    };

    [Fact]
    public async Task APartialFineTune_IsMappedStageByStage_WithItsWarnings_AndNothingIsStored()
    {
        using var response = await Http.PostAsJsonAsync("/api/runs/plan", Partial(3, new HyperParameters { BatchSize = 8, ImageSize = 128, Epochs = 2 }), RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var plan = (await response.Content.ReadFromJsonAsync<RunPlan>(RunPolling.Json))!;
        var map = plan.Map.ShouldNotBeNull(plan.MapUnavailable);
        map.Rows.Select(r => r.Name).ShouldBe(["stem", "layer1", "layer2", "layer3", "layer4", "head"]);
        map.Rows.Take(3).ShouldAllBe(r => r.Frozen && r.BatchNorm == ModuleMode.Eval && r.Pretrained);
        map.Rows.Skip(3).ShouldAllBe(r => !r.Frozen && r.LearningRate > 0);
        map.Rows.Single(r => r.Name == "layer3").BatchNorm.ShouldBe(ModuleMode.Train);
        // The head has the dataset's 3 classes, not the entry's 62.
        map.Rows[^1].Parameters.ShouldBe(512 * 3 + 3);
        plan.Warnings.Select(w => w.Code).ShouldBe(["batchnorm-small-batch", "input-size-far", "few-examples"], ignoreOrder: true);
        plan.Warnings.Single(w => w.Code == "input-size-far").Message.ShouldContain("128 px is 4x the 32 px");

        // The enums travel as names, as the rest of the API's do.
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        json.RootElement.GetProperty("map").GetProperty("rows")[0].GetProperty("batchNorm").GetString().ShouldBe("Eval");

        (await Http.GetFromJsonAsync<List<RunView>>("/api/runs", RunPolling.Json))!.ShouldBeEmpty();
    }

    [Fact]
    public async Task ABadRequest_GetsTheSameProblemDetails_AsItsLaunch()
    {
        var bad = Partial(9, new HyperParameters { Epochs = 0 });
        using var plan = await Http.PostAsJsonAsync("/api/runs/plan", bad, RunPolling.Json);
        using var launch = await Http.PostAsJsonAsync("/api/runs", bad, RunPolling.Json);
        plan.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        launch.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var planErrors = Errors(await plan.Content.ReadAsStringAsync());
        planErrors.Keys.ShouldContain("HyperParameters.Epochs");
        planErrors.Keys.ShouldContain("Options.frozenStages");
        planErrors.ShouldBe(Errors(await launch.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task FewShotPrototypes_TrainNothing_SoNoTrainingRuleFires_EvenAtBatchTwo()
    {
        using var response = await Http.PostAsJsonAsync("/api/runs/plan", new RunRequest
        {
            ModelId = "resnet18.glyphs_house", DatasetId = "tinted", Strategy = "few-shot-prototypes",
            Options = new JsonObject { ["shots"] = 2 }, HyperParameters = new HyperParameters { BatchSize = 2, LearningRate = 5 },
        }, RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var plan = (await response.Content.ReadFromJsonAsync<RunPlan>(RunPolling.Json))!;
        plan.Map!.GradientTraining.ShouldBeFalse();
        plan.Map.TrainedParameters.ShouldBe(0);
        plan.Warnings.ShouldBeEmpty();
    }

    static Dictionary<string, string> Errors(string body) =>
        JsonSerializer.Deserialize<JsonElement>(body).GetProperty("errors").Deserialize<Dictionary<string, string[]>>()!
            .ToDictionary(e => e.Key, e => string.Join(" | ", e.Value));
}
