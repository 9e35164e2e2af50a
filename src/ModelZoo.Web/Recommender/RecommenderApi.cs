using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.Recommender;
using ModelZoo.Infrastructure.Recommender;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Recommender;

/// <summary>REST API of the backbone recommender: probe the backbones on this machine for a dataset and rank them.</summary>
public static class RecommenderApi
{
    public static IEndpointRouteBuilder MapRecommenderApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/recommendations").WithTags("Backbone recommender");
        g.MapPost("", Results<Accepted<Recommendation>, ValidationProblem> (RecommendRequest request, BackboneRecommender recommender) =>
            {
                var errors = recommender.Check(request);
                if (errors.Count > 0)
                    return TypedResults.ValidationProblem(errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: "The recommendation request is invalid.");
                var r = recommender.Start(request);
                return TypedResults.Accepted($"/api/recommendations/{r.Id}", r);
            })
            // It runs every backbone with weights over the chosen examples on the training device: an analyst's action.
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("StartRecommendation").WithSummary("Probe every backbone with weights on this machine for a dataset, in the background")
            .WithDescription("Answers 202 with the recommendation to poll. Each backbone's frozen features (through the feature cache) of a " +
                             "stratified subset train a linear probe; the probe accuracy is joined with the latency measured here (batch 1) " +
                             "and the backbones within the budget are ranked, the Pareto front marked.");
        g.MapGet("", (BackboneRecommender recommender) => TypedResults.Ok(recommender.List()))
            .WithName("ListRecommendations").WithSummary("Recommendations on record, newest first");
        g.MapGet("/{id:guid}", Results<Ok<Recommendation>, NotFound> (Guid id, BackboneRecommender recommender) =>
                recommender.Find(id) is { } r ? TypedResults.Ok(r) : TypedResults.NotFound())
            .WithName("GetRecommendation").WithSummary("A recommendation: its progress while it runs, the ranked backbones when done");
        g.MapPost("/{id:guid}/cancel", Results<Accepted, NotFound> (Guid id, BackboneRecommender recommender) =>
                recommender.Cancel(id) ? TypedResults.Accepted($"/api/recommendations/{id}") : TypedResults.NotFound())
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("CancelRecommendation").WithSummary("Stop a running recommendation (what was probed stays cached)");
        return app;
    }
}
