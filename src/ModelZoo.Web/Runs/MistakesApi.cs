using ModelZoo.Infrastructure.Runs.Predict;

namespace ModelZoo.Web.Runs;

/// <summary><c>GET /api/runs/{id}/mistakes</c> and its images: "Where it goes wrong", the same <see cref="RunMistakes"/>
/// the run page's panel uses.</summary>
public static class MistakesApi
{
    public static IEndpointRouteBuilder MapMistakesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs/{id:guid}/mistakes", ListAsync)
            .WithTags("Runs")
            .Produces<MistakesView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("RunMistakes").WithSummary("A succeeded run's most confidently wrong test examples, optionally of one confusion-matrix cell")
            .WithDescription(
                "The run's trained model is run once over exactly the run's test split (the one its confusion matrix counts) and the result is " +
                "kept in the run's folder. Optional `true` and `predicted` (class names as the run's result names them) pick a confusion-matrix " +
                "row, column or cell; `take` (1-200, default 24). Off the diagonal: wrong answers, most confident first. With `true` = " +
                "`predicted` (a diagonal cell): right answers, least confident first. Each example has its dataset index, true and predicted " +
                "class, the softmax probability of the predicted class, and `imageUrl` (image runs) or `text` (text runs, cut to 280 characters). " +
                "400: unknown class or bad `take`; 404: no such run; 409: the run has not succeeded, has no stored weights, its strategy's " +
                "predictions are not in its weights (few-shot prototypes), its test data is gone, or predicting the test split again does " +
                "not reproduce its recorded confusion matrix.");
        app.MapGet("/api/runs/{id:guid}/mistakes/{index:int}/image.png", ImageAsync)
            .WithTags("Runs")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("RunMistakeImage").WithSummary("One test example of a run as its dataset stores it, as PNG");
        return app;
    }

    static async Task<IResult> ListAsync(Guid id, RunMistakes mistakes, CancellationToken ct,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "true")] string? trueClass = null, string? predicted = null, int take = RunMistakes.DefaultTake)
    {
        var outcome = await mistakes.QueryAsync(id, trueClass, predicted, take, ct);
        return outcome.View is { } view ? TypedResults.Ok(view) : Refusal(outcome);
    }

    static async Task<IResult> ImageAsync(Guid id, int index, RunMistakes mistakes, CancellationToken ct)
    {
        var (png, refusal) = await mistakes.ImageAsync(id, index, ct: ct);
        return png is not null ? TypedResults.File(png, "image/png") : Refusal(refusal!);
    }

    static IResult Refusal(MistakesOutcome outcome) => outcome.Failure switch
    {
        PredictFailure.RunNotFound => Problem(StatusCodes.Status404NotFound, "Not found.", outcome.Problem!),
        PredictFailure.NotAvailable => Problem(StatusCodes.Status409Conflict, "The run's mistakes cannot be shown.", outcome.Problem!),
        _ => Problem(StatusCodes.Status400BadRequest, "The request is invalid.", outcome.Problem!),
    };

    static IResult Problem(int status, string title, string detail) => TypedResults.Problem(detail, statusCode: status, title: title);
}
