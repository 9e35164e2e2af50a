using System.Security.Claims;
using ModelZoo.Core.Strategies;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Core.Runs;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Runs;

/// <summary>The strategies' descriptions (what the form is generated from) and the transferability sweep.</summary>
public static class StrategiesApi
{
    public static IEndpointRouteBuilder MapStrategiesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/strategies", (IStrategyCatalog strategies) => TypedResults.Ok(strategies.All))
            .WithTags("Runs").WithName("ListStrategies").WithSummary("Every transfer strategy: id, title, explanation, options with defaults and limits, data needed")
            .WithDescription("A run request names a strategy by id and passes its options by name in `options`; options left out take their " +
                             "defaults. `info.needsTarget`: the strategy needs `targetDatasetId`; `info.requiresBatchNorm`: only for models with BatchNorm; " +
                             "`info.trains`: false for strategies without gradient steps; `info.metrics`: the named values its progress events add.");

        var g = app.MapGroup("/api/sweeps").WithTags("Runs");
        g.MapPost("/", async Task<Results<Created<SweepView>, ValidationProblem>> (RunRequest request, SweepService sweeps, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var result = await sweeps.LaunchAsync(request, user.AccountId(), ct);
            if (!result.Ok)
                return TypedResults.ValidationProblem(result.Errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: "The sweep request is invalid.");
            return TypedResults.Created($"/api/sweeps/{result.SweepId}", await sweeps.GetAsync(result.SweepId!.Value, ct));
        })
        .RequireAuthorization(ZooPolicies.Analyst)
        .WithName("LaunchSweep").WithSummary("Queue a transferability sweep for one backbone and dataset")
        .WithDescription("Feature extraction, partial fine-tuning at every frozen depth from 0 to the model's backbone depth, full fine-tuning " +
                         "and scratch, all with the request's data, label budget, training settings and seed (its strategy and options are ignored). " +
                         "Every run is checked before any is queued.");
        g.MapGet("/{id:guid}", async Task<Results<Ok<SweepView>, NotFound>> (Guid id, SweepService sweeps, CancellationToken ct) =>
            await sweeps.GetAsync(id, ct) is { } v ? TypedResults.Ok(v) : TypedResults.NotFound())
            .WithName("GetSweep").WithSummary("A sweep with its runs and their results");
        return app;
    }
}
