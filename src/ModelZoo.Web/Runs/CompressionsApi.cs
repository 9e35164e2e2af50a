using System.Security.Claims;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs.Compression;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Runs;

/// <summary><c>/api/runs/{id}/compressions</c>: compress a succeeded run's model (int8 weights now, or queue a pruning
/// run), list what was measured, download the files; the same <see cref="RunCompressions"/> the run page's panel uses.</summary>
public static class CompressionsApi
{
    public static IEndpointRouteBuilder MapCompressionsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/runs/{id:guid}/compressions").WithTags("Runs");
        g.MapPost("/", CompressAsync)
            .RequireAuthorization(ZooPolicies.Analyst)
            .Produces<CompressionResult>()
            .Produces<CompressionLaunch>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("CompressRun").WithSummary("Compress a succeeded run's trained model: int8 now, or queue a pruning run")
            .WithDescription(
                "Body: {method: int8 | prune, sparsity (prune: 0 to 0.99), scope (prune: global | layer, default global), fineTuneEpochs " +
                "(prune: 0 to 20, default 1)}. int8 (200, answered when done, seconds): per-output-channel symmetric int8 weights (scale = " +
                "max|w|/127, zero point 0) for every conv/linear weight (and a text model's embedding tables) of 256+ elements, F32 scales " +
                "under <key>.scale, everything else F32; the header's __metadata__ names the scheme; loading needs " +
                "docs/loaders/load_int8_safetensors.py; accuracy on the run's test split before and after, file sizes. prune (202, at once): " +
                "queues a run of the prune strategy with this run as its SourceRunId (same model, dataset, image size, seed and training " +
                "examples; the fine-tune's epochs at a constant rate): the conv and linear weights of smallest magnitude set to zero " +
                "(exactly floor(sparsity × n) over all of them, or per layer), then the fine-tune with the zeros held. The answer names the " +
                "run (runId, url, page; Location header); follow it like any run. Its result's values and card report the sparsity " +
                "counted on its saved weights (overall and per layer) and the test accuracy before pruning, right after it and after the " +
                "fine-tune; its weights file is the pruned model. 400: an option out of range (keyed by option); 404: no such run; 409: the " +
                "run has not succeeded, has no weights, or its data is gone.");
        g.MapGet("/", ListAsync)
            .Produces<IReadOnlyList<CompressionResult>>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("RunCompressions").WithSummary("The run's compressions with what was measured, oldest first");
        g.MapGet("/{compressionId:guid}/file", FileAsync)
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("DownloadRunCompression").WithSummary("A compression's safetensors file (int8 needs its loader)");
        return app;
    }

    static async Task<IResult> CompressAsync(Guid id, CompressionRequest request, RunCompressions compressions, ClaimsPrincipal user, CancellationToken ct)
    {
        var outcome = await compressions.CompressAsync(id, request, user.AccountId(), ct);
        return outcome switch
        {
            { Result: { } r } => TypedResults.Ok(r),
            { LaunchedRunId: { } runId } => TypedResults.Accepted($"/api/runs/{runId}", CompressionLaunch.Of(runId)),
            { Failure: CompressionFailure.BadInput } => TypedResults.ValidationProblem(outcome.Errors!.ToDictionary(e => e.Key, e => new[] { e.Value }),
                detail: outcome.Problem, title: "The compression request is invalid."),
            { Failure: CompressionFailure.RunNotFound } => TypedResults.Problem(outcome.Problem, statusCode: StatusCodes.Status404NotFound, title: "Not found."),
            _ => TypedResults.Problem(outcome.Problem, statusCode: StatusCodes.Status409Conflict, title: "The run's model cannot be compressed."),
        };
    }

    static async Task<IResult> ListAsync(Guid id, RunCompressions compressions, CancellationToken ct) =>
        await compressions.ListAsync(id, ct) is { } list ? TypedResults.Ok(list)
            : TypedResults.Problem($"There is no run {id}.", statusCode: StatusCodes.Status404NotFound, title: "Not found.");

    static async Task<IResult> FileAsync(Guid id, Guid compressionId, RunCompressions compressions, CancellationToken ct)
    {
        var (path, name, problem) = await compressions.FileAsync(id, compressionId, ct);
        return path is not null ? TypedResults.PhysicalFile(path, "application/octet-stream", name, enableRangeProcessing: true)
            : TypedResults.Problem(problem, statusCode: StatusCodes.Status404NotFound, title: "Not found.");
    }
}
