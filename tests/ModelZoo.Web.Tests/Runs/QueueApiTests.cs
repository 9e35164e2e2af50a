using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Queue;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Runs;

/// <summary><c>GET /api/queue</c> on the real portal, with the real worker training the first of three runs.</summary>
public sealed class QueueApiTests : IAsyncLifetime
{
    readonly PortalFactory _factory = new();
    HttpClient _http = default!;

    public async Task InitializeAsync()
    {
        _factory.StartServer();
        _http = new HttpClient { BaseAddress = _factory.ClientOptions.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        await _factory.Services.GetRequiredService<DatasetFetchService>().EnsureDefaultAsync(CancellationToken.None);
    }

    async Task<Guid> Launch(string name, int epochs)
    {
        var response = await _http.PostAsJsonAsync("/api/runs", new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = MnistNpmDataset.Id, Name = name,
            HyperParameters = new HyperParameters { Epochs = epochs, BatchSize = 32, ImageSize = 16, TrainLimit = 64 },
        }, RunPolling.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync<RunView>(RunPolling.Json))!.Id;
    }

    Task<QueueBoard?> Queue(string query = "") => _http.GetFromJsonAsync<QueueBoard>($"/api/queue{query}", RunPolling.Json);

    [Fact]
    public async Task Queue_ShowsTheTrainingRunWithItsEta_TheQueueWithPositionsAndWaits_AndFiltersByTheQuery()
    {
        // Long enough (500 epochs of two steps) that it is still training while the test looks; it is cancelled below.
        var a = await Launch("queue a", epochs: 500);
        var b = await Launch("queue b", epochs: 1);
        var c = await Launch("queue c", epochs: 1);

        QueueBoard board = default!;
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < until)
        {
            board = (await Queue())!;
            if (board.Running.SingleOrDefault(e => e.Run.Id == a) is { Progress: not null, EtaSeconds: not null }) break;
            await Task.Delay(200);
        }
        var running = board.Running.ShouldHaveSingleItem();
        running.Run.Id.ShouldBe(a);
        running.Run.Device.ShouldNotBeNullOrEmpty();
        running.ElapsedSeconds.ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(0);
        running.Progress.ShouldNotBeNull().TotalSteps.ShouldBe(1000);
        running.Progress.Epochs.ShouldBe(500);
        board.Queued.Select(e => (e.Run.Id, e.Position)).ShouldBe([(b, (int?)1), (c, 2)]);
        board.Queued[0].WaitSeconds.ShouldNotBeNull("the training run has reported its ETA");
        board.Queued[1].WaitSeconds.ShouldBeNull("run b has not started, so how long it takes is not known");

        var queuedOnly = (await Queue("?status=queued&model=resnet18.tv_in1k"))!;
        queuedOnly.Running.ShouldBeEmpty();
        queuedOnly.Queued.Count.ShouldBe(2);
        (await Queue("?model=no-such-model"))!.Queued.ShouldBeEmpty();

        foreach (var id in new[] { c, b, a }) (await _http.PostAsync($"/api/runs/{id}/cancel", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await _http.WaitForTerminalAsync(a);
        var cancelled = (await Queue("?status=cancelled"))!;
        cancelled.Finished.Select(e => e.Run.Id).ShouldBe([a, b, c], ignoreOrder: true);
        cancelled.Finished.Single(e => e.Run.Id == c).DurationSeconds.ShouldBeNull("it never started");
        cancelled.Finished.Single(e => e.Run.Id == a).DurationSeconds.ShouldNotBeNull();
    }

    [Theory]
    [InlineData("?status=done", "Unknown status 'done'")]
    [InlineData("?experiment=42", "not an experiment id")]
    [InlineData("?sweep=42", "not an experiment id")]
    public async Task AnUnreadableFilter_IsABadRequest_ThatSaysWhy(string query, string reason)
    {
        var response = await _http.GetAsync($"/api/queue{query}");
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain(reason);
    }

    [Fact]
    public async Task ThePage_PrerendersWithItsFiltersFromTheUrl_AndTheMenuLinksToIt()
    {
        var html = await _http.GetStringAsync("/queue?status=queued,running&model=resnet18.tv_in1k");
        html.ShouldContain("<title>Queue · ModelZoo</title>");
        html.ShouldContain("href=\"/queue?status=queued&amp;model=resnet18.tv_in1k\"", customMessage: "the Running toggle keeps the other filters");
        html.ShouldContain("href=\"/queue\"", customMessage: "the menu entry");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
    }
}
