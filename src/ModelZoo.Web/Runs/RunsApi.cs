using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Web.Runs;

/// <summary>REST API for runs: the same operations as the UI, through the same <see cref="RunService"/>.</summary>
public static class RunsApi
{
    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/runs").WithTags("Runs");

        g.MapPost("/", async Task<Results<Created<RunView>, ValidationProblem>> (RunRequest request, RunService runs, CancellationToken ct) =>
        {
            var result = await runs.LaunchAsync(request, ct);
            if (!result.Ok)
                return TypedResults.ValidationProblem(result.Errors.ToDictionary(e => e.Key, e => new[] { e.Value }),
                    title: "The run request is invalid.");
            var view = await runs.GetAsync(result.RunId!.Value, ct);
            return TypedResults.Created($"/api/runs/{result.RunId}", view);
        })
        .WithName("LaunchRun").WithSummary("Queue a transfer-learning run").WithDescription(
            "Validates the request (model and dataset must exist; hyper-parameters in range), stores the run and queues it. " +
            "Training happens in the background worker; follow it on the SignalR hub /hubs/runs or poll GET /api/runs/{id}.");

        g.MapGet("/", async (RunService runs, CancellationToken ct, int take = 200) => TypedResults.Ok(await runs.ListAsync(Math.Clamp(take, 1, 1000), ct)))
            .WithName("ListRuns").WithSummary("List runs, newest first");

        g.MapGet("/{id:guid}", async Task<Results<Ok<RunView>, NotFound>> (Guid id, RunService runs, CancellationToken ct) =>
            await runs.GetAsync(id, ct) is { } v ? TypedResults.Ok(v) : TypedResults.NotFound())
            .WithName("GetRun").WithSummary("A run with its status, result and model card");

        g.MapGet("/{id:guid}/events", async Task<Results<Ok<IReadOnlyList<RunEvent>>, NotFound>> (Guid id, RunService runs, CancellationToken ct, long after = 0) =>
            await runs.GetAsync(id, ct) is null ? TypedResults.NotFound() : TypedResults.Ok(await runs.EventsAsync(id, after, ct)))
            .WithName("GetRunEvents").WithSummary("Stored progress events after a sequence number");

        g.MapPost("/{id:guid}/cancel", async Task<Results<Accepted<RunView>, NotFound, Conflict<string>>> (Guid id, RunService runs, CancellationToken ct) =>
        {
            var outcome = await runs.CancelAsync(id, ct);
            return outcome switch
            {
                RunService.CancelOutcome.NotFound => TypedResults.NotFound(),
                RunService.CancelOutcome.AlreadyFinished => TypedResults.Conflict("The run has already finished."),
                _ => TypedResults.Accepted($"/api/runs/{id}", await runs.GetAsync(id, ct)),
            };
        }).WithName("CancelRun").WithSummary("Cancel a queued or running run (a running one stops within one step)");

        g.MapGet("/{id:guid}/card.md", async Task<Results<FileContentHttpResult, NotFound>> (Guid id, RunService runs, CancellationToken ct) =>
            await runs.GetAsync(id, ct) is { CardMarkdown: { } card } v
                ? TypedResults.File(Encoding.UTF8.GetBytes(card), "text/markdown; charset=utf-8", $"model-card-{v.Id:N}.md")
                : TypedResults.NotFound())
            .WithName("DownloadRunCard").WithSummary("The run's model card as a Markdown file");
        return app;
    }
}
