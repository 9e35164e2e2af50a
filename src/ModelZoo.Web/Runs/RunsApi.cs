using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Cards;
using ModelZoo.Infrastructure.Runs.Plan;
using ModelZoo.Core.Runs.Plan;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Runs;

/// <summary>REST API for runs: the same operations as the UI, through the same <see cref="RunService"/>.</summary>
public static class RunsApi
{
    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/runs").WithTags("Runs");

        g.MapPost("/", async Task<Results<Created<RunView>, ValidationProblem>> (RunRequest request, RunService runs, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var result = await runs.LaunchAsync(request, user.AccountId(), ct);
            if (!result.Ok)
                return TypedResults.ValidationProblem(result.Errors.ToDictionary(e => e.Key, e => new[] { e.Value }),
                    title: "The run request is invalid.");
            var view = await runs.GetAsync(result.RunId!.Value, ct);
            return TypedResults.Created($"/api/runs/{result.RunId}", view);
        })
        .RequireAuthorization(ZooPolicies.Analyst)
        .WithName("LaunchRun").WithSummary("Queue a transfer-learning run").WithDescription(
            "Validates the request (model and dataset must exist; the strategy, one of GET /api/strategies, must fit the model; its options " +
            "and the hyper-parameters must be in range; each error is keyed by field, e.g. Options.frozenStages), stores the run and queues it. " +
            "Training happens in the background worker; follow it on the SignalR hub /hubs/runs or poll GET /api/runs/{id}.");

        // A viewer may plan: it stores nothing and tells nothing the catalogue and the datasets pages do not (as predict,
        // which also computes without writing); only the launch needs an analyst.
        g.MapPost("/plan", Results<Ok<RunPlan>, ValidationProblem> (RunRequest request, RunPlanner planner) =>
        {
            var result = planner.Plan(request);
            if (!result.Ok)
                return TypedResults.ValidationProblem(result.Errors.ToDictionary(e => e.Key, e => new[] { e.Value }),
                    title: "The run request is invalid.");
            return TypedResults.Ok(result.Plan!);
        })
        .RequireAuthorization(ZooPolicies.Viewer)
        .WithName("PlanRun").WithSummary("What a run would train, and the pitfalls of its settings, before launch")
        .WithDescription(
            "Takes the body of POST /api/runs and checks it the same way (an invalid request gets the same 400 problem details, keyed " +
            "by field). A valid one gets its trainable map and the launch linter's warnings; nothing is stored or queued. The map is " +
            "read from the real model (built on the meta device: shapes only) and the real strategy after its set-up, its parameter " +
            "groups and the start of epoch 1: one row per stage (stem first, head last) and per module the strategy adds, with " +
            "parameters and trained parameters, the group's learning-rate scale and peak rate (base × scale), the modules' mode and " +
            "their BatchNorm layers' mode (Train: batch statistics; Eval: running statistics), and whether the row starts from " +
            "pretrained weights. schedule lists the epochs in which the frozen stages change (gradual unfreezing). mapUnavailable says " +
            "why a map could not be made. Each warning has a code (batchnorm-small-batch, learning-rate-high, input-size-far, " +
            "few-examples, augmentation-flip, augmentation-rotation, augmentation-crop), the field it concerns, a message with the " +
            "numbers and the reason. Warnings never block a launch.");

        g.MapPost("/{id:guid}/baseline", async Task<Results<Created<RunView>, ValidationProblem, NotFound>> (Guid id, RunService runs, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (await runs.GetAsync(id, ct) is null) return TypedResults.NotFound();
            // Anyone who may launch may launch a baseline of any run they can see; the baseline is theirs.
            var result = await runs.LaunchBaselineAsync(id, user.AccountId(), ct);
            if (!result.Ok)
                return TypedResults.ValidationProblem(result.Errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: "The baseline cannot be launched.");
            return TypedResults.Created($"/api/runs/{result.RunId}", await runs.GetAsync(result.RunId!.Value, ct));
        })
        .RequireAuthorization(ZooPolicies.Analyst)
        .WithName("LaunchScratchBaseline").WithSummary("Queue the scratch baseline of a run")
        .WithDescription("The same model, data, label budget, training settings and seed, with the scratch strategy (random initialisation). " +
                         "The new run's baselineFor names the run; the run page compares the two.");

        g.MapGet("/{id:guid}/metrics", async Task<Results<Ok<IReadOnlyList<string>>, NotFound>> (Guid id, RunService runs, CancellationToken ct) =>
            await runs.GetAsync(id, ct) is null ? TypedResults.NotFound() : TypedResults.Ok(await runs.MetricNamesAsync(id, ct)))
            .WithName("ListRunMetrics").WithSummary("The names of the values a run has recorded (loss, lr, val_acc, and the strategy's own)");

        g.MapGet("/{id:guid}/metrics/{name}", async Task<Results<Ok<IReadOnlyList<MetricPoint>>, NotFound>> (Guid id, string name, RunService runs, CancellationToken ct) =>
            await runs.GetAsync(id, ct) is null ? TypedResults.NotFound() : TypedResults.Ok(await runs.MetricAsync(id, name, ct)))
            .WithName("GetRunMetric").WithSummary("One named value's series: per step (step, epoch, elapsed seconds) or per epoch");

        g.MapGet("/", async (RunService runs, CancellationToken ct, int take = 200) => TypedResults.Ok(await runs.ListAsync(Math.Clamp(take, 1, 1000), ct)))
            .WithName("ListRuns").WithSummary("List runs, newest first");

        g.MapGet("/{id:guid}", async Task<Results<Ok<RunView>, NotFound>> (Guid id, RunService runs, CardService cards, CancellationToken ct) =>
            await runs.GetAsync(id, ct) is { } v ? TypedResults.Ok(await WithCardAsync(v, cards, ct)) : TypedResults.NotFound())
            .WithName("GetRun").WithSummary("A run with its status, result and model card");

        g.MapGet("/{id:guid}/events", async Task<Results<Ok<IReadOnlyList<RunEvent>>, NotFound>> (Guid id, RunService runs, CancellationToken ct, long after = 0) =>
            await runs.GetAsync(id, ct) is null ? TypedResults.NotFound() : TypedResults.Ok(await runs.EventsAsync(id, after, ct)))
            .WithName("GetRunEvents").WithSummary("Stored progress events after a sequence number");

        g.MapPost("/{id:guid}/cancel", async Task<Results<Accepted<RunView>, NotFound, ProblemHttpResult, ForbidHttpResult>> (
            Guid id, RunService runs, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (await runs.GetAsync(id, ct) is not { } run) return TypedResults.NotFound();
            if (!Ownership.MayManage(user, run.OwnerId)) return TypedResults.Forbid();
            var outcome = await runs.CancelAsync(id, ct);
            return outcome switch
            {
                RunService.CancelOutcome.NotFound => TypedResults.NotFound(),
                RunService.CancelOutcome.AlreadyFinished => TypedResults.Problem($"Run {id} has already finished; there is nothing to cancel.", statusCode: StatusCodes.Status409Conflict, title: "The run was not cancelled."),
                _ => TypedResults.Accepted($"/api/runs/{id}", await runs.GetAsync(id, ct)),
            };
        }).RequireAuthorization(ZooPolicies.Analyst).WithName("CancelRun").WithSummary("Cancel a queued or running run (a running one stops within one step)");

        g.MapGet("/{id:guid}/card.md", async Task<Results<FileContentHttpResult, NotFound>> (Guid id, CardService cards, CancellationToken ct) =>
            await cards.GetAsync(id, null, ct) is { } card
                ? TypedResults.File(Encoding.UTF8.GetBytes(card.Markdown), "text/markdown; charset=utf-8", $"model-card-{id:N}.md")
                : TypedResults.NotFound())
            .WithName("DownloadRunCard").WithSummary("The run's model card as a Markdown file");

        g.MapGet("/{id:guid}/weights.safetensors", async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> (
                Guid id, RunService runs, RunOutputs outputs, CancellationToken ct) =>
            {
                if (await runs.GetAsync(id, ct) is not { } run)
                    return TypedResults.Problem($"There is no run {id}.", statusCode: StatusCodes.Status404NotFound, title: "Not found.");
                var weights = outputs.WeightsOf(run);
                return weights.Path is { } path
                    ? TypedResults.PhysicalFile(path, "application/octet-stream", weights.Weights!.File, enableRangeProcessing: true)
                    : TypedResults.Problem(weights.Problem, statusCode: StatusCodes.Status404NotFound, title: "The run has no weights.");
            })
            .WithName("DownloadRunWeights").WithSummary("The trained model of a succeeded run as safetensors")
            .WithDescription(
                "The whole state_dict of the trained model (backbone and the run's new head) under the reference key names, as F32 " +
                "safetensors; it loads with safetensors.torch.load_file and load_state_dict into the torchvision or transformers module " +
                "with the run's class count. The header's __metadata__ names the run, the catalogue entry, the architecture, the " +
                "dataset, the strategy and the class names in output order. Its sha256 and size are in the run's result " +
                "(result.trainedWeights) and its model card. 404, with the reason, when the run does not exist, has not finished, " +
                "failed or was cancelled.");

        g.MapGet("/{id:guid}/model.onnx", async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> (
                Guid id, RunService runs, RunOnnxExporter exporter, CancellationToken ct) =>
            {
                if (await runs.GetAsync(id, ct) is not { } run)
                    return TypedResults.Problem($"There is no run {id}.", statusCode: StatusCodes.Status404NotFound, title: "Not found.");
                var export = await exporter.ExportAsync(run, ct);
                return export switch
                {
                    { Path: { } path } => TypedResults.PhysicalFile(path, "application/octet-stream", export.FileName, enableRangeProcessing: true),
                    { Failure: RunOnnxFailure.NoWeights } => TypedResults.Problem(export.Problem, statusCode: StatusCodes.Status404NotFound, title: "The run has no weights."),
                    _ => TypedResults.Problem(export.Problem, statusCode: StatusCodes.Status422UnprocessableEntity, title: "The model cannot be exported to ONNX."),
                };
            })
            .WithName("DownloadRunOnnx").WithSummary("The trained model of a succeeded run as ONNX (opset 17)")
            .WithDescription(
                "The run's trained model in eval mode as an ONNX model (opset 17) for ONNX Runtime, ML.NET, Triton or a browser, built from " +
                "its weights on first request and kept beside them. Image models take `input` float32 [batch, 3, H, W] (already " +
                "preprocessed) and give `logits`; text models take `input_ids`, `attention_mask` and `token_type_ids` int64 " +
                "[batch, sequence] and give `logits`. The batch (and sequence) is symbolic. metadata_props record the preprocessing " +
                "(input_size, resize_size, mean, std, channel_order, pixel_scale, interpolation) or the tokenizer facts (vocab_file, " +
                "lowercase, max_length), the class names in output order (`labels`, a JSON list), and the run, entry, dataset, strategy " +
                "and the weights' sha256. 404, with the reason, when the run does not exist or has no weights; 422 when its model " +
                "cannot be exported (the reason names the architecture and what stops it).");
        return app;
    }

    /// <summary>The run with the card people read (its written sections and its experiment cell's seeds), not the
    /// generated text alone.</summary>
    static async Task<RunView> WithCardAsync(RunView v, CardService cards, CancellationToken ct) =>
        v.CardMarkdown is null ? v : v with { CardMarkdown = (await cards.GetAsync(v.Id, null, ct))?.Markdown ?? v.CardMarkdown };
}
