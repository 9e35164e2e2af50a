using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>A portal started again on the same data folder shows the past runs with their curves and cards.</summary>
public class RestartTests
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    [Fact]
    public async Task RestartedPortal_ShowsPastRuns_TheirHistoryAndCards()
    {
        var dataDir = Directory.CreateTempSubdirectory("mz-restart-").FullName;
        try
        {
            Guid id;
            List<RunEvent> before;
            await using (var first = new PortalFactory(dataDir: dataDir))
            {
                first.StartServer();
                await first.Services.GetRequiredService<DatasetFetchService>().EnsureDefaultAsync(CancellationToken.None);
                using var http = new HttpClient { BaseAddress = first.ClientOptions.BaseAddress };
                var request = new RunRequest
                {
                    ModelId = "resnet18.tv_in1k", DatasetId = MnistNpmDataset.Id,
                    HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 32, ImageSize = 16, TrainLimit = 64 },
                };
                id = (await (await http.PostAsJsonAsync("/api/runs", request, Json)).Content.ReadFromJsonAsync<RunView>(Json))!.Id;
                var until = DateTime.UtcNow.AddMinutes(3);
                while ((await http.GetFromJsonAsync<RunView>($"/api/runs/{id}", Json))!.Status is RunStatus.Queued or RunStatus.Running)
                {
                    if (DateTime.UtcNow > until) throw new TimeoutException();
                    await Task.Delay(200);
                }
                before = (await http.GetFromJsonAsync<List<RunEvent>>($"/api/runs/{id}/events", Json))!;
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

            await using var second = new PortalFactory(dataDir: dataDir);
            second.StartServer();
            using var http2 = new HttpClient { BaseAddress = second.ClientOptions.BaseAddress };
            var run = (await http2.GetFromJsonAsync<RunView>($"/api/runs/{id}", Json))!;
            run.Status.ShouldBe(RunStatus.Succeeded);
            run.CardMarkdown.ShouldNotBeNullOrWhiteSpace();
            var after = (await http2.GetFromJsonAsync<List<RunEvent>>($"/api/runs/{id}/events", Json))!;
            after.Select(e => e.Seq).ShouldBe(before.Select(e => e.Seq));
            after.Count(e => e.Kind == RunEventKind.Step).ShouldBe(2);
            (await http2.GetStringAsync($"/runs/{id}")).ShouldContain("Model card");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
