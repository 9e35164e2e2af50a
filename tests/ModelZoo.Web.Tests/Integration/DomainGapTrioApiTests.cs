using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Cards;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.DomainGap;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.DomainGap;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>
/// The domain-gap trio on the real portal (SQLite, migrations, the real worker training tiny runs): a source and a
/// brightened target of noisy 8x8 grey images, one epoch at 16 pixels, so the nine runs train in seconds each.
/// </summary>
public class DomainGapTrioApiTests : IAsyncLifetime
{
    readonly PortalFactory _factory = new(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
    HttpClient _http = default!;

    /// <summary>120 noisy 8x8 grey images of two classes (dark and light), their brightness offset by <paramref name="shift"/>.</summary>
    static void Write(DatasetStore store, string id, int seed, int shift, string[]? classes = null) =>
        GreyImages.Write(store, id, seed, dark: (0, 60), light: (60, 120), shift, classes);

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        var store = _factory.Services.GetRequiredService<DatasetStore>();
        Write(store, "grey-source", seed: 1, shift: 0);
        Write(store, "grey-bright", seed: 2, shift: 120);
        Write(store, "grey-other-classes", seed: 3, shift: 0, classes: ["cat", "dog"]);
        var two = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        store.Write(new DatasetInfo { Id = "notes", Title = "Notes", ClassNames = ["dark", "light"] },
            new TextSet { Texts = two.Select((l, i) => $"note {i} of kind {(l == 0 ? "alpha" : "beta")}").ToList(), Labels = two, ClassNames = ["dark", "light"] },
            StratifiedSplitter.Split(two, 3));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    static DomainGapTrioRequest Trio(string target = "grey-bright") => new()
    {
        ModelId = "resnet18.tv_in1k", SourceDatasetId = "grey-source", TargetDatasetId = target, Seeds = [1, 2, 3], GapExamples = 60,
        HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16 },
    };

    async Task<TrioView> Get(Guid id) => (await _http.GetFromJsonAsync<TrioView>($"/api/domain-gap/trios/{id}", RunPolling.Json))!;

    [Fact]
    public async Task ATrio_QueuesNineRuns_TrainsThem_AndReportsEachArmOverItsSeeds()
    {
        var response = await _http.PostAsJsonAsync("/api/domain-gap/trios", Trio(), RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = (await response.Content.ReadFromJsonAsync<TrioView>(RunPolling.Json))!;
        response.Headers.Location!.ToString().ShouldBe($"/api/domain-gap/trios/{created.Id}");
        created.Gap.ShouldNotBeNull("the gap is measured before the runs are queued");
        created.Gap.Measures.ProxyADistance.ShouldBeGreaterThan(1.0, "a brightened target is easy to tell from the source");
        created.Gap.Measures.SourceExamples.ShouldBe(60);

        // Nine ordinary runs of the trio's experiment, with the stored request saying exactly what each arm is.
        var runs = (await _http.GetFromJsonAsync<List<RunView>>("/api/runs", RunPolling.Json))!;
        runs.Count.ShouldBe(9);
        runs.ShouldAllBe(r => r.ExperimentId == created.Id);
        var bySlot = created.Slots.ToDictionary(s => s.RunId);
        var arms = runs.Select(r => (bySlot[r.Id].Arm, SlotSeed: bySlot[r.Id].Seed, r.Strategy, r.DatasetId, r.TargetDatasetId, r.Request.HyperParameters.Seed,
                MaxLambda: r.Request.Options?["maxLambda"]?.GetValue<double>(), r.Request.HyperParameters.Epochs))
            .OrderBy(x => x.Arm).ThenBy(x => x.SlotSeed).ToList();
        arms.ShouldBe(
        [
            (TrioArm.SourceOnly, 1, "dann", "grey-source", "grey-bright", 1, 0.0, 1), (TrioArm.SourceOnly, 2, "dann", "grey-source", "grey-bright", 2, 0.0, 1),
            (TrioArm.SourceOnly, 3, "dann", "grey-source", "grey-bright", 3, 0.0, 1),
            (TrioArm.Dann, 1, "dann", "grey-source", "grey-bright", 1, 1.0, 1), (TrioArm.Dann, 2, "dann", "grey-source", "grey-bright", 2, 1.0, 1),
            (TrioArm.Dann, 3, "dann", "grey-source", "grey-bright", 3, 1.0, 1),
            (TrioArm.Oracle, 1, "full-fine-tune", "grey-bright", null, 1, null, 1), (TrioArm.Oracle, 2, "full-fine-tune", "grey-bright", null, 2, null, 1),
            (TrioArm.Oracle, 3, "full-fine-tune", "grey-bright", null, 3, null, 1),
        ]);

        var until = DateTime.UtcNow + TimeSpan.FromMinutes(6);
        var trio = created;
        while (trio.Report.Pending && DateTime.UtcNow < until)
        {
            await Task.Delay(500);
            trio = await Get(created.Id);
        }
        trio.Report.Pending.ShouldBeFalse("the worker trains all nine runs");
        trio.Runs.ShouldAllBe(r => r.Status == RunStatus.Succeeded, string.Join("; ", trio.Runs.Select(r => r.Error)));

        // The report is each arm's runs' target test accuracies, aggregated: checked against the runs themselves.
        foreach (var arm in Enum.GetValues<TrioArm>())
        {
            var accuracies = trio.Slots.Where(s => s.Arm == arm).Select(s => trio.Runs.Single(r => r.Id == s.RunId).Result!.TestAccuracy).ToList();
            var result = trio.Report.Arm(arm);
            (result.N, result.Planned).ShouldBe((3, 3));
            result.Mean!.Value.ShouldBe(accuracies.Average(), 1e-12);
            result.Interval!.HalfWidth.ShouldBe(SeedMean.Of(accuracies)!.HalfWidth, 1e-12);
        }
        var (so, dann, oracle) = (trio.Report.Arm(TrioArm.SourceOnly).Mean!.Value, trio.Report.Arm(TrioArm.Dann).Mean!.Value, trio.Report.Arm(TrioArm.Oracle).Mean!.Value);
        if (oracle > so) trio.Report.Recovered!.Value.ShouldBe((dann - so) / (oracle - so), 1e-12);
        else trio.Report.Recovered.ShouldBeNull();
        trio.Report.Verdict.ShouldNotBeNullOrWhiteSpace();

        // Listed, readable as an experiment (whose page points here), and the page prerenders the report.
        (await _http.GetFromJsonAsync<JsonArray>("/api/domain-gap/trios", RunPolling.Json))!.ShouldHaveSingleItem()!["id"]!.GetValue<Guid>().ShouldBe(created.Id);
        (await _http.GetFromJsonAsync<JsonObject>($"/api/experiments/{created.Id}", RunPolling.Json))!["kind"]!.GetValue<string>().ShouldBe("domain-gap");
        var page = await _http.GetStringAsync($"/domain-gap/{created.Id}");
        page.ShouldContain("data-testid=\"trio-report\"");
        page.ShouldContain("9 of 9 runs finished");
        (await _http.GetStringAsync("/domain-gap")).ShouldContain($"href=\"/domain-gap/{created.Id}\"");
    }

    [Fact]
    public async Task BadTrios_AreRefusedByField_AndStoreNothing()
    {
        async Task<IDictionary<string, string[]>> Refused(DomainGapTrioRequest r)
        {
            var response = await _http.PostAsJsonAsync("/api/domain-gap/trios", r, RunPolling.Json);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
            return (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>(RunPolling.Json))!.Errors;
        }
        (await Refused(Trio("grey-source")))["TargetDatasetId"].Single().ShouldContain("another dataset than the source");
        (await Refused(Trio() with { ModelId = "vgg99" }))["ModelId"].Single().ShouldContain("'vgg99' is not in the catalogue");
        (await Refused(Trio("grey-other-classes")))["TargetDatasetId"].Single().ShouldContain("class names do not match");
        var text = await Refused(Trio("notes"));
        text.Keys.ShouldContain("TargetDatasetId");
        text["TargetDatasetId"].Single().ShouldContain("texts");
        (await Refused(Trio() with { Seeds = [7] }))["Seeds"].Single().ShouldContain("at least two");
        (await Refused(Trio() with { HyperParameters = Trio().HyperParameters with { Epochs = 0 } })).Keys.ShouldContain("HyperParameters.Epochs");

        (await _http.GetFromJsonAsync<JsonArray>("/api/runs", RunPolling.Json))!.ShouldBeEmpty("nothing was queued");
        (await _http.GetFromJsonAsync<JsonArray>("/api/experiments", RunPolling.Json))!.ShouldBeEmpty("nothing was stored");
        (await _http.GetAsync($"/api/domain-gap/trios/{Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
