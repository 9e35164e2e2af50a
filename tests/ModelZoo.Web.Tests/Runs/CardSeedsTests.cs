using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Cards;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs.Cards;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>A run that is one seed of an experiment cell: its card reports the cell over its seeds, from the runs'
/// own results, on the real portal with runs trained by the worker.</summary>
public class CardSeedsTests
{
    [Fact]
    public async Task ARunsCard_ReportsItsCellOverTheSucceededSeeds()
    {
        await using var factory = new PortalFactory();
        factory.StartServer();
        await factory.Services.GetRequiredService<DatasetFetchService>().EnsureDefaultAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };

        var launched = await http.PostAsJsonAsync("/api/experiments", new
        {
            name = "seeds", datasetId = MnistNpmDataset.Id, models = new[] { "resnet18.tv_in1k" },
            strategies = new[] { new { id = "full-fine-tune" } }, seeds = new[] { 1, 2 },
            hyperParameters = new { epochs = 2, batchSize = 32, learningRate = 3e-3, imageSize = 16, trainLimit = 64 },
        });
        launched.StatusCode.ShouldBe(HttpStatusCode.Created, await launched.Content.ReadAsStringAsync());
        var ids = (await launched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ToList();
        var runs = new List<RunView>();
        foreach (var id in ids) runs.Add(await http.WaitForTerminalAsync(id));
        runs.ShouldAllBe(r => r.Status == RunStatus.Succeeded);

        var card = (await http.GetFromJsonAsync<CardView>($"/api/runs/{ids[0]}/card", RunPolling.Json))!.Markdown;
        card.ShouldContain(SeedAnalysis.Heading);
        card.ShouldContain("one of 2 succeeded seeds (1, 2)");
        var mean = runs.Average(r => r.Result!.TestAccuracy);
        card.ShouldContain($"| test accuracy | {(mean * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)} % |");
        (await http.GetStringAsync($"/api/runs/{ids[1]}/card.md")).ShouldContain(SeedAnalysis.Heading, customMessage: "the other seed's card too");
        (await http.GetFromJsonAsync<RunView>($"/api/runs/{ids[1]}", RunPolling.Json))!.CardMarkdown.ShouldNotBeNull().ShouldContain(SeedAnalysis.Heading);
    }
}
