using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Catalog;

/// <summary><c>GET /api/models/{id}/pretraining-overlap?dataset=</c>: what the new-run page shows, through the real app.</summary>
public class PretrainingOverlapApiTests : IAsyncLifetime
{
    readonly PortalFactory _factory = new(new Dictionary<string, string?> { ["Datasets:FetchOnStartup"] = "false" });
    HttpClient _http = default!;

    public Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task CountsTheTextsTheHouseBertSaw_PerSplit_AndRefusesWhatItCannotCount()
    {
        // Even-numbered texts carry a WordNet 3.0 gloss the house BERT was pretrained on.
        var labels = Enumerable.Range(0, 30).Select(i => i % 2).ToArray();
        var texts = labels.Select((_, i) => i % 2 == 0 ? $"Item {i}. Feline mammal usually having thick soft fur and no ability to roar: domestic cats; wildcats" : $"Item {i} is something new.").ToList();
        var split = StratifiedSplitter.Split(labels, 4);
        _factory.Services.GetRequiredService<DatasetStore>().Write(
            new DatasetInfo { Id = "glossy", Title = "Glossy", ClassNames = ["a", "b"], License = "CC0-1.0", Provenance = "written by the test" },
            new TextSet { Texts = texts, Labels = labels, ClassNames = ["a", "b"] }, split);

        var overlap = (await _http.GetFromJsonAsync<PretrainingOverlap>("/api/models/bert_mlm.mini_house/pretraining-overlap?dataset=glossy", JsonSerializerOptions.Web))!;
        overlap.Corpus.ShouldContain("WordNet 3.0 glosses");
        overlap.Splits.Select(s => (s.Split, s.Examples, s.Overlapping)).ShouldBe(
        [
            ("train", split.Train.Length, split.Train.Count(i => i % 2 == 0)),
            ("validation", split.Validation.Length, split.Validation.Count(i => i % 2 == 0)),
            ("test", split.Test.Length, split.Test.Count(i => i % 2 == 0)),
        ]);

        async Task Refused(string url, HttpStatusCode status, string detail)
        {
            var r = await _http.GetAsync(url);
            r.StatusCode.ShouldBe(status, url);
            (await r.Content.ReadAsStringAsync()).ShouldContain(detail, Case.Sensitive, url);
        }
        await Refused("/api/models/resnet18.tv_in1k/pretraining-overlap?dataset=glossy", HttpStatusCode.NotFound, "records no pretraining corpus");
        await Refused("/api/models/nope.x/pretraining-overlap?dataset=glossy", HttpStatusCode.NotFound, "There is no model 'nope.x'.");
        await Refused("/api/models/bert_mlm.mini_house/pretraining-overlap?dataset=missing", HttpStatusCode.NotFound, "There is no dataset 'missing'.");
        await Refused("/api/models/bert_mlm.mini_house/pretraining-overlap", HttpStatusCode.BadRequest, "Name the dataset");
    }
}
