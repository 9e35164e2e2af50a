using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.DomainGap;
using ModelZoo.Infrastructure.DomainGap;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.DomainGap;

/// <summary>REST API of the domain-gap report: measure how far apart two datasets are on a backbone's features, and
/// launch and read the trio (source only, DANN, oracle over seeds) that shows how much adaptation recovers.</summary>
public static class DomainGapApi
{
    public static IEndpointRouteBuilder MapDomainGapApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/domain-gap", async Task<Results<Ok<DomainGapReport>, ValidationProblem, ProblemHttpResult>> (
                DomainGapRequest request, DomainGapService service, CancellationToken ct) =>
            {
                var errors = service.Check(request);
                if (errors.Count > 0)
                    return TypedResults.ValidationProblem(errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: "The domain-gap request is invalid.");
                try { return TypedResults.Ok(await service.MeasureAsync(request, ct)); }
                catch (InvalidOperationException e)
                {
                    return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status409Conflict, title: "The gap cannot be measured.");
                }
            })
            // It runs the backbone over up to 4,000 examples on the machine's training device: an analyst's action.
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithTags("Domain gap").WithName("MeasureDomainGap").WithSummary("Measure the gap between two datasets on a backbone's features")
            .WithDescription("Embeds a seeded sample of each dataset's training split with the model's pooled features (its starting weights, " +
                             "the preprocessing a run would use, through the feature cache) and returns the proxy A-distance (2(1-2ε), ε the " +
                             "held-out error of a linear domain classifier) and the unbiased MMD² with a Gaussian kernel (median-heuristic bandwidth).");

        app.MapPost("/api/domain-gap/trios", async Task<Results<Created<TrioView>, ValidationProblem, ProblemHttpResult>> (
                DomainGapTrioRequest request, DomainGapTrioService trios, ClaimsPrincipal user, CancellationToken ct) =>
            {
                TrioLaunch launch;
                try { launch = await trios.LaunchAsync(request, user.AccountId(), ct); }
                catch (InvalidOperationException e)
                {
                    return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status409Conflict, title: "The gap cannot be measured; nothing was queued.");
                }
                if (!launch.Ok)
                    return TypedResults.ValidationProblem(launch.Errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: "The domain-gap trio is invalid.");
                return TypedResults.Created($"/api/domain-gap/trios/{launch.TrioId}", await trios.GetAsync(launch.TrioId!.Value, ct));
            })
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithTags("Domain gap").WithName("LaunchDomainGapTrio").WithSummary("Measure the gap, then queue source only, DANN and the oracle over seeds")
            .WithDescription("Body: modelId, sourceDatasetId, targetDatasetId, seeds (default 1, 2, 3), hyperParameters (shared; each run's seed is " +
                             "its own), measureGap (default true: the gap is measured first and kept with the trio), gapExamples, name. Queues, per " +
                             "seed, dann with maxLambda 0 (source only), dann with its defaults, and full-fine-tune on the target (the oracle), as " +
                             "ordinary runs of an experiment of kind domain-gap. Every run is checked before anything is stored; errors are keyed " +
                             "by the trio's fields. Cancel with POST /api/experiments/{id}/cancel.");

        app.MapGet("/api/domain-gap/trios", async (DomainGapTrioService trios, CancellationToken ct) => TypedResults.Ok(await trios.ListAsync(100, ct)))
            .WithTags("Domain gap").WithName("ListDomainGapTrios").WithSummary("Domain-gap trios, newest first");

        app.MapGet("/api/domain-gap/trios/{id:guid}", async Task<Results<Ok<TrioView>, NotFound>> (Guid id, DomainGapTrioService trios, CancellationToken ct) =>
                await trios.GetAsync(id, ct) is { } v ? TypedResults.Ok(v) : TypedResults.NotFound())
            .WithTags("Domain gap").WithName("GetDomainGapTrio").WithSummary("A trio: the gap, its runs and the report")
            .WithDescription("report.arms[]: per arm (SourceOnly, Dann, Oracle) the mean target test accuracy over the seeds that succeeded, " +
                             "its 95 % interval (Student's t, n-1 degrees of freedom; low, high), n and planned; report.recovered: " +
                             "(DANN - source only) / (oracle - source only), null until every arm has a result or when the oracle is no better; " +
                             "report.verdict says it in words, including when DANN does not help.");
        return app;
    }
}
