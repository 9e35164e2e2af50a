using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using ModelZoo.Infrastructure.Runs.Predict;

namespace ModelZoo.Web.Runs;

/// <summary><c>POST /api/runs/{id}/predict</c>: "Try it" over HTTP, the same <see cref="RunPredictor"/> the run page uses.</summary>
public static class PredictApi
{
    /// <summary>Room for the multipart boundaries and headers around the file.</summary>
    const long MultipartAllowance = 64 << 10;

    public static IEndpointRouteBuilder MapPredictApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/runs/{id:guid}/predict", PredictAsync)
            .WithTags("Runs")
            .DisableAntiforgery()
            .Produces<RunPrediction>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("PredictWithRun").WithSummary("Try a succeeded run's model on one image or text: top classes, and Grad-CAM for images")
            .WithDescription(
                "Image runs: multipart/form-data with the image in a `file` field (PNG, JPEG, GIF, BMP, WebP, ICO, WBMP). Text runs: JSON " +
                "{\"text\": \"...\"} or a form field `text`. Optional `top` (query, form or JSON; default 5). The input is prepared exactly as " +
                "the run's test split was (an image is decoded and stored as the run's dataset stores uploads, then resized, centre-cropped and " +
                "normalised with the run's preprocessing; a text is tokenised with the model's vocabulary and the run's maximum length). " +
                "Returns the top classes with their probabilities, most probable first, named as the run's card names them, and for image " +
                "models `gradCam`: the stage and module it explains, the map (values in [0, 1], row-major) and the overlay as a PNG data URL. " +
                "400: not an image, a corrupt image, an empty text, the wrong kind of input for the run; 404: no such run; 409: the run has " +
                "not succeeded, has no stored weights, or its strategy's predictions are not in its weights (few-shot prototypes); " +
                "413: over Runs:Predict:MaxImageBytes (10 MB), MaxPixels (25 megapixels) or MaxTextChars.");
        return app;
    }

    static async Task<IResult> PredictAsync(Guid id, HttpRequest request, RunPredictor predictor, CancellationToken ct, int? top = null)
    {
        var limits = predictor.Options;
        var bodyLimit = limits.MaxImageBytes + MultipartAllowance;
        if (request.ContentLength > bodyLimit)
            return Problem(StatusCodes.Status413PayloadTooLarge, "The input is too large.", predictor.TooLargeMessage(request.ContentLength.Value));
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = bodyLimit;

        byte[]? image = null;
        string? text = null;
        string? topField = null;
        MediaTypeHeaderValue.TryParse(request.ContentType, out var type);
        var media = type?.MediaType.Value?.ToLowerInvariant();
        try
        {
            switch (media)
            {
                case "multipart/form-data" when HeaderUtilities.RemoveQuotes(type!.Boundary).Value is { Length: > 0 } boundary:
                    var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = null };
                    while (await reader.ReadNextSectionAsync(ct) is { } section)
                    {
                        if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
                        var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                        if (disposition.IsFileDisposition() && name is "file" or "image")
                        {
                            image = await ReadBounded(section.Body, limits.MaxImageBytes, ct);
                            if (image is null)
                                return Problem(StatusCodes.Status413PayloadTooLarge, "The input is too large.",
                                    predictor.TooLargeMessage(null));
                        }
                        else if (name is "text" or "top")
                        {
                            var bytes = await ReadBounded(section.Body, 4L * limits.MaxTextChars + 16, ct);
                            var value = bytes is null ? null : Encoding.UTF8.GetString(bytes);
                            if (name == "text") text = value ?? new string(' ', limits.MaxTextChars + 1);
                            else topField = value;
                        }
                    }
                    break;
                case "application/json":
                    using (var json = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct))
                    {
                        if (json.RootElement.ValueKind != JsonValueKind.Object)
                            return Problem(StatusCodes.Status400BadRequest, "The input is invalid.", "Send a JSON object such as {\"text\": \"...\"}.");
                        if (json.RootElement.TryGetProperty("text", out var t)) text = t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                        if (json.RootElement.TryGetProperty("top", out var k)) topField = k.ToString();
                    }
                    break;
                case "application/x-www-form-urlencoded":
                    var form = await request.ReadFormAsync(ct);
                    text = form["text"].FirstOrDefault();
                    topField = form["top"].FirstOrDefault();
                    break;
                default:
                    return Problem(StatusCodes.Status400BadRequest, "The input is missing.",
                        "Send an image as multipart/form-data in a `file` field (curl -F file=@cat.jpg), or a text as JSON {\"text\": \"...\"}.");
            }
        }
        catch (JsonException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "The input is invalid.", $"The body is not valid JSON: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "The input is too large.", predictor.TooLargeMessage(null));
        }
        catch (IOException e) when (e is not EndOfStreamException)
        {
            return Problem(StatusCodes.Status400BadRequest, "The input is invalid.", $"The request body could not be read: {e.Message}");
        }

        int count = top ?? 5;
        if (topField is not null && !int.TryParse(topField.Trim(), out count))
            return Problem(StatusCodes.Status400BadRequest, "The input is invalid.", $"top must be a whole number, not '{topField}'.");
        if (image is null && text is null)
            return Problem(StatusCodes.Status400BadRequest, "The input is missing.",
                "The request has neither a `file` (an image) nor a `text` field.");

        var outcome = image is not null
            ? await predictor.PredictImageAsync(id, image, count, ct)
            : await predictor.PredictTextAsync(id, text, count, ct);
        return outcome switch
        {
            { Prediction: { } p } => TypedResults.Ok(p),
            { Failure: PredictFailure.RunNotFound } => Problem(StatusCodes.Status404NotFound, "Not found.", outcome.Problem!),
            { Failure: PredictFailure.NotAvailable } => Problem(StatusCodes.Status409Conflict, "The run cannot be tried.", outcome.Problem!),
            { Failure: PredictFailure.TooLarge } => Problem(StatusCodes.Status413PayloadTooLarge, "The input is too large.", outcome.Problem!),
            { Failure: PredictFailure.WrongModality } => Problem(StatusCodes.Status400BadRequest, "The input is the wrong kind for this run.", outcome.Problem!),
            _ => Problem(StatusCodes.Status400BadRequest, "The input is invalid.", outcome.Problem!),
        };
    }

    /// <summary>The stream's bytes, or null as soon as it holds more than <paramref name="max"/>: an oversized upload is
    /// never buffered whole.</summary>
    static async Task<byte[]?> ReadBounded(Stream body, long max, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + n > max) return null;
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    static IResult Problem(int status, string title, string detail) => TypedResults.Problem(detail, statusCode: status, title: title);
}
