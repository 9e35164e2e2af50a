using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Catalog;

/// <summary>"Measure latency on this machine" over HTTP: the same queue the compare page uses.</summary>
public static class LatencyApi
{
    /// <summary>Every stored measurement of a model, newest first, and the state of a queued or running one.</summary>
    public sealed record LatencyHistory(string ModelId, LatencyJob? Job, IReadOnlyList<LatencyMeasurement> Measurements);

    public static IEndpointRouteBuilder MapLatencyApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/models/{id}/latency").WithTags("Catalogue");

        g.MapPost("/", Results<Accepted<LatencyJob>, ProblemHttpResult> (string id, LatencyService latency, int? batch) =>
        {
            var r = latency.Request(id, batch);
            return r.Outcome switch
            {
                LatencyRequestOutcome.NotFound => TypedResults.Problem(r.Error, statusCode: StatusCodes.Status404NotFound, title: "Not found."),
                LatencyRequestOutcome.Unsupported => TypedResults.Problem(r.Error, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Latency cannot be measured for this model."),
                _ => TypedResults.Accepted($"/api/models/{id}/latency", r.Job!),
            };
        })
        .RequireAuthorization(ZooPolicies.Analyst) // measuring holds the machine's cores for a while
        .WithName("MeasureLatency").WithSummary("Queue an inference-latency measurement on this machine").WithDescription(
            "Measures batch 1 and `batch` (default: the Latency:BatchSize setting) at the model's input size with the configured " +
            "threads. Measurements run one at a time and wait while a training run is in progress. A model already queued keeps " +
            "its job. Poll GET on the same path for the job state and the stored results.");

        g.MapGet("/", async Task<Results<Ok<LatencyHistory>, NotFound>> (string id, ZooCatalog catalog, LatencyService latency, CancellationToken ct) =>
            !catalog.Exists(id) ? TypedResults.NotFound()
                : TypedResults.Ok(new LatencyHistory(id, latency.JobOf(id), await latency.HistoryAsync(id, ct: ct))))
            .WithName("GetLatency").WithSummary("Stored latency measurements of a model, newest first, with any job in progress");
        return app;
    }
}
