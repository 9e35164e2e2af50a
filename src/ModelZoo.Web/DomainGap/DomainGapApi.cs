using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.DomainGap;
using ModelZoo.Infrastructure.DomainGap;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.DomainGap;

/// <summary>REST API of the domain-gap report: measure how far apart two datasets are on a backbone's features.</summary>
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
        return app;
    }
}
