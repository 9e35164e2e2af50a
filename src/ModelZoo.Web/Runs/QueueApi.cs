using ModelZoo.Core.Runs.Queue;
using ModelZoo.Infrastructure.Runs.Queue;

namespace ModelZoo.Web.Runs;

/// <summary><c>GET /api/queue</c>: the queue view as JSON, with the page's filters as query parameters.</summary>
public static class QueueApi
{
    public static IEndpointRouteBuilder MapQueueApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/queue", async (QueueService queue, CancellationToken ct, string? status = null, string? model = null,
                string? dataset = null, string? strategy = null, string? experiment = null, string? sweep = null, bool? resumed = null, int finished = QueueService.DefaultFinished) =>
            {
                var parsed = QueueFilter.Parse(status, model, dataset, strategy, experiment ?? sweep, resumed);
                if (!parsed.Ok) return Results.Problem(parsed.Error, statusCode: StatusCodes.Status400BadRequest, title: "The queue filter is invalid.");
                return Results.Ok(await queue.LoadAsync(parsed.Filter!, Math.Clamp(finished, 0, 1000), ct));
            })
            .WithTags("Runs").WithName("GetQueue").WithSummary("Running, queued and recent finished runs, with position, wait, progress, ETA and duration")
            .WithDescription("running: device, elapsedSeconds, progress (epoch of epochs, step of total steps) and etaSeconds from the latest step. " +
                             "queued: in the order the worker takes them, with position and waitSeconds (null when a run ahead has no estimate yet). " +
                             "finished: the latest `finished` (default 50) succeeded, failed or cancelled runs, newest first, with durationSeconds. " +
                             "Filters: status (comma-separated: queued, running, succeeded, failed, cancelled), model, dataset, strategy, experiment (an experiment id: a grid's or a sweep's; " +
                             "`sweep` is read the same), resumed=true. 400 for an unknown status or a malformed experiment id.");
        return app;
    }
}
