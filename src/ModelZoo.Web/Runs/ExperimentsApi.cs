using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.Runs.Experiments;
using ModelZoo.Infrastructure.Runs.Experiments;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Runs;

/// <summary>REST API for experiments: the same operations as the pages, through the same <see cref="ExperimentService"/>.</summary>
public static class ExperimentsApi
{
    public static IEndpointRouteBuilder MapExperimentsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/experiments").WithTags("Runs");

        g.MapPost("/", async Task<Results<Created<ExperimentView>, ValidationProblem>> (ExperimentRequest request, ExperimentService experiments, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var result = await experiments.LaunchAsync(request, user.AccountId(), ct);
            if (!result.Ok)
                return TypedResults.ValidationProblem(result.Errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: "The experiment request is invalid.");
            return TypedResults.Created($"/api/experiments/{result.ExperimentId}", await experiments.GetAsync(result.ExperimentId!.Value, ct));
        })
        .RequireAuthorization(ZooPolicies.Analyst)
        .WithName("LaunchExperiment").WithSummary("Queue a grid: models × strategies × label budgets × seeds on one dataset")
        .WithDescription("Body: datasetId, models[], strategies[] (each {id, options?}; the same id may appear with different options), " +
                         "seeds[] (default 1, 2, 3), labelBudgets[] (labelled examples per class; left out: every label), hyperParameters " +
                         $"(as a run's; seed and labelsPerClass are each run's own), name. At most {ExperimentPlan.MaxRuns} runs. Every run is " +
                         "checked before any is queued, and errors are keyed by the experiment's field: Models[1], Strategies[0].Options.frozenStages, " +
                         "LabelBudgets[0], Seeds, HyperParameters.Epochs, Runs (the cap).");

        g.MapGet("/", async (ExperimentService experiments, CancellationToken ct, int take = 200) =>
                TypedResults.Ok(await experiments.ListAsync(Math.Clamp(take, 1, 1000), ct)))
            .WithName("ListExperiments").WithSummary("Experiments (grids and transferability sweeps), newest first, with their runs counted by status");

        g.MapGet("/{id:guid}", async Task<Results<Ok<ExperimentView>, NotFound>> (Guid id, ExperimentService experiments, CancellationToken ct) =>
                await experiments.GetAsync(id, ct) is { } v ? TypedResults.Ok(v) : TypedResults.NotFound())
            .WithName("GetExperiment").WithSummary("An experiment, its runs and, for a grid, the grid")
            .WithDescription("grid.cells[row][column]: mean and std (sample) of test accuracy over the seeds that succeeded (n), planned, failed, " +
                             "cancelled, running and queued counts, the runs behind the cell, and best (the highest mean; a tie goes to more seeds). " +
                             "A sweep has no grid: its page is /sweeps/{id}.");

        g.MapPost("/{id:guid}/cancel", async Task<Results<Accepted<ExperimentCancel>, NotFound, ForbidHttpResult>> (
                Guid id, ExperimentService experiments, ClaimsPrincipal user, CancellationToken ct) =>
            {
                if (await experiments.GetAsync(id, ct) is not { } experiment) return TypedResults.NotFound();
                if (!Ownership.MayManage(user, experiment.OwnerId)) return TypedResults.Forbid();
                return await experiments.CancelAsync(id, ct) is { } c ? TypedResults.Accepted($"/api/experiments/{id}", c) : TypedResults.NotFound();
            })
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("CancelExperiment").WithSummary("Cancel every queued or running run of an experiment")
            .WithDescription("Queued runs are cancelled at once, running ones stop within a training step; finished runs keep their results. " +
                             "One run is cancelled with POST /api/runs/{id}/cancel.");
        return app;
    }
}
