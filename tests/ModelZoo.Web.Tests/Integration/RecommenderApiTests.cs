using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Recommender;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Recommender;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>The backbone recommender on the real portal: the house image backbones (bundled weights) are probed on a
/// dataset the test writes, ranked, kept on disk, and a second recommendation reads the features from the cache.</summary>
public class RecommenderApiTests : IAsyncLifetime
{
    static JsonSerializerOptions Json => RunPolling.Json;
    readonly PortalFactory _factory = new(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
    HttpClient _http = default!;

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        // Two classes that differ in brightness: a backbone's features separate them.
        GreyImages.Write(_factory.Services.GetRequiredService<DatasetStore>(), "grey", seed: 5, dark: (20, 71), light: (90, 141));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    async Task<Recommendation> Recommend(RecommendRequest request)
    {
        var response = await _http.PostAsJsonAsync("/api/recommendations", request, Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var started = (await response.Content.ReadFromJsonAsync<Recommendation>(Json))!;
        response.Headers.Location!.ToString().ShouldBe($"/api/recommendations/{started.Id}");
        for (var until = DateTime.UtcNow.AddMinutes(4); DateTime.UtcNow < until; await Task.Delay(200))
        {
            var r = (await _http.GetFromJsonAsync<Recommendation>($"/api/recommendations/{started.Id}", Json))!;
            if (!r.IsActive) return r;
        }
        throw new TimeoutException("The recommendation did not finish.");
    }

    [Fact]
    public async Task HouseBackbones_AreProbedAndRanked_AndASecondLookReadsTheCache()
    {
        var candidates = _factory.Services.GetRequiredService<BackboneRecommender>().Candidates(DatasetModality.Image).Select(c => c.Id).ToList();
        candidates.ShouldContain("resnet18.glyphs_house");
        candidates.ShouldNotContain("resnet18.tv_in1k", "no ImageNet weights on a fresh machine: a random network is not probed");

        var r = await Recommend(new RecommendRequest { DatasetId = "grey", ExamplesPerClass = 10 });
        r.State.ShouldBe(RecommendationState.Succeeded, r.Message);
        r.Scores.Select(s => s.ModelId).ShouldBe(candidates, ignoreOrder: true);
        r.Scores.ShouldAllBe(s => s.Probe != null && s.Error == null);
        r.Scores.ShouldAllBe(s => s.Probe!.Trained == 20 && s.Probe.Scored > 0 && s.Probe.Scored <= 20);
        r.Scores.Select(s => s.Rank).ShouldBe(Enumerable.Range(1, candidates.Count).Select(i => (int?)i), "no budget: every probed backbone ranks");
        r.Scores.Select(s => s.Probe!.Accuracy).ShouldBeInOrder(SortDirection.Descending);
        r.Scores[0].Probe!.Accuracy.ShouldBeGreaterThan(0.7, "brightness classes are easy for a pretrained backbone's features");
        r.Best!.ModelId.ShouldBe(r.Scores[0].ModelId);
        r.Notes.ShouldContain(n => n.Contains("No latency measured"));
        File.Exists(Path.Combine(_factory.DataDir, "recommendations", $"{r.Id:N}.json")).ShouldBeTrue();

        // The same subset again, now with a budget: the features come from the cache, and nothing timed can fit it.
        var again = await Recommend(new RecommendRequest { DatasetId = "grey", ExamplesPerClass = 10, LatencyBudgetMs = 5 });
        again.State.ShouldBe(RecommendationState.Succeeded, again.Message);
        again.Scores.ShouldAllBe(s => s.Probe!.Extracted == 0, "every feature was cached by the first recommendation");
        again.Scores.Select(s => s.Probe!.Accuracy).ShouldBe(r.Scores.Select(s => s.Probe!.Accuracy), ignoreOrder: true);
        again.Scores.ShouldAllBe(s => s.Rank == null && s.WithinBudget == null);
        again.Message.ShouldContain("No backbone could be probed within the budget");

        var listed = (await _http.GetFromJsonAsync<List<Recommendation>>("/api/recommendations", Json))!;
        listed.Select(x => x.Id).ShouldBe([again.Id, r.Id]);
        (await _http.GetAsync($"/api/recommendations/{Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var page = await _http.GetStringAsync($"/recommend?id={r.Id}");
        page.ShouldContain("recommend-table");
        page.ShouldContain(r.Scores[0].ModelId);
    }

    [Fact]
    public async Task BadRequests_AreRefused_ByField_AndNothingStarts()
    {
        async Task<IDictionary<string, string[]>> Refused(RecommendRequest request)
        {
            var response = await _http.PostAsJsonAsync("/api/recommendations", request, Json);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
            return (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>(Json))!.Errors;
        }
        (await Refused(new RecommendRequest { DatasetId = "nope" }))["DatasetId"].Single().ShouldContain("'nope' does not exist");
        (await Refused(new RecommendRequest { DatasetId = "grey", ExamplesPerClass = 1 }))["ExamplesPerClass"].Single().ShouldContain("between 2 and 500");
        (await Refused(new RecommendRequest { DatasetId = "grey", LatencyBudgetMs = -3 }))["LatencyBudgetMs"].Single().ShouldContain("positive");
        (await Refused(new RecommendRequest { DatasetId = "grey", ImageSize = 4 }))["ImageSize"].Single().ShouldContain("between 16 and 512");
        (await _http.GetFromJsonAsync<List<Recommendation>>("/api/recommendations", Json))!.ShouldBeEmpty();
    }
}
