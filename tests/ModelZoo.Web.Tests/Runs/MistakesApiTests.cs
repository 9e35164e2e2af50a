using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs.Predict;
using ModelZoo.Web.Tests.Integration;
using SkiaSharp;

namespace ModelZoo.Web.Tests.Runs;

/// <summary><c>GET /api/runs/{id}/mistakes</c> and its images on the real portal with a tiny run its worker trained:
/// the answer, and every refusal with its status and reason.</summary>
public sealed class MistakesApiTests(PredictPortal portal) : IClassFixture<PredictPortal>
{
    HttpClient Http => portal.Http;

    static async Task<string> Detail(HttpResponseMessage r) =>
        (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;

    [Fact]
    public async Task TheGallery_MatchesTheRunsConfusionMatrix_AndItsImagesAreTheStoredExamples()
    {
        var run = (await Http.GetFromJsonAsync<RunView>($"/api/runs/{portal.RunId}", RunPolling.Json))!;
        var names = run.Result!.ClassNames;
        var wrong = 0;
        for (int t = 0; t < names.Count; t++)
            for (int p = 0; p < names.Count; p++)
            {
                var response = await Http.GetAsync($"/api/runs/{portal.RunId}/mistakes?true={names[t]}&predicted={names[p]}&take=200");
                response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
                var cell = (await response.Content.ReadFromJsonAsync<MistakesView>(RunPolling.Json))!;
                cell.Matching.ShouldBe(run.Result.ConfusionMatrix[t][p]);
                if (t != p) wrong += cell.Matching;
            }
        var all = (await Http.GetFromJsonAsync<MistakesView>($"/api/runs/{portal.RunId}/mistakes", RunPolling.Json))!;
        all.Wrong.ShouldBe(wrong);
        all.TestExamples.ShouldBe(portal.Split.Test.Length);
        all.Examples.Count.ShouldBe(Math.Min(24, wrong));

        // The image of a test example (a diagonal cell always has one when the run got anything right).
        var diagonal = Enumerable.Range(0, names.Count).First(i => run.Result.ConfusionMatrix[i][i] > 0);
        var right = (await Http.GetFromJsonAsync<MistakesView>($"/api/runs/{portal.RunId}/mistakes?true={names[diagonal]}&predicted={names[diagonal]}&take=1", RunPolling.Json))!;
        var example = right.Examples.ShouldHaveSingleItem();
        var image = await Http.GetAsync(example.ImageUrl);
        image.StatusCode.ShouldBe(HttpStatusCode.OK);
        image.Content.Headers.ContentType!.MediaType.ShouldBe("image/png");
        using var bitmap = SKBitmap.Decode(await image.Content.ReadAsByteArrayAsync());
        bitmap.ShouldNotBeNull();
        bitmap.Width.ShouldBeGreaterThanOrEqualTo(12);
        portal.Images.Labels[example.Index].ShouldBe(diagonal);
        (await Http.GetAsync($"/api/runs/{portal.RunId}/mistakes/{portal.Split.Train[0]}/image.png")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnUnknownClass_Is400_AndAnUnknownRun_Is404()
    {
        var unknownClass = await Http.GetAsync($"/api/runs/{portal.RunId}/mistakes?true=purple");
        unknownClass.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Detail(unknownClass)).ShouldContain("no class 'purple'");
        (await Http.GetAsync($"/api/runs/{portal.RunId}/mistakes?predicted=Red")).StatusCode.ShouldBe(HttpStatusCode.BadRequest, "names are exact");
        (await Http.GetAsync($"/api/runs/{portal.RunId}/mistakes?take=0")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var unknown = Guid.NewGuid();
        var none = await Http.GetAsync($"/api/runs/{unknown}/mistakes");
        none.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Detail(none)).ShouldContain($"There is no run {unknown}");
        (await Http.GetAsync($"/api/runs/{unknown}/mistakes/0/image.png")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ARunThatHasNotSucceeded_Is409()
    {
        var launched = await Http.PostAsJsonAsync("/api/runs", new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = "tinted", HyperParameters = new HyperParameters { Epochs = 200, ImageSize = 16 },
        }, RunPolling.Json);
        var id = (await launched.Content.ReadFromJsonAsync<RunView>(RunPolling.Json))!.Id;
        var notYet = await Http.GetAsync($"/api/runs/{id}/mistakes");
        notYet.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await Detail(notYet)).ShouldContain("only a succeeded run");
        (await Http.PostAsync($"/api/runs/{id}/cancel", null)).EnsureSuccessStatusCode();
        (await Http.WaitForTerminalAsync(id)).Status.ShouldBe(RunStatus.Cancelled);
        var cancelled = await Http.GetAsync($"/api/runs/{id}/mistakes");
        cancelled.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await Detail(cancelled)).ShouldContain("cancelled");
        (await Http.GetAsync($"/api/runs/{id}/mistakes/0/image.png")).StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }
}
