using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Accounts;

namespace ModelZoo.Web.Datasets;

/// <summary>A built-in dataset as the API lists it: what it is, where it comes from, and its fetch state.</summary>
public sealed record BuiltInView(string Id, string Title, string Description, string Registry, string Package, string License,
    string DownloadSize, FetchState State);

/// <summary>A refused upload as the API's problem details carry it: the summary, how many problems, and every one of
/// them (file or row, and the reason), however many.</summary>
public sealed record UploadRejection(string Error, int Count, IReadOnlyList<UploadProblem> Problems);

public static class DatasetsApi
{
    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/datasets").WithTags("Datasets");
        g.MapGet("/", (IDatasetCatalog datasets) => TypedResults.Ok(datasets.All()))
            .WithName("ListDatasets").WithSummary("Datasets ready for runs, with licence, provenance and split sizes");
        g.MapGet("/fetch-state", (DatasetFetchService fetch) => TypedResults.Ok(fetch.State))
            .WithName("DatasetFetchState").WithSummary("Progress of the default built-in dataset's fetch");
        g.MapGet("/builtins", (DatasetFetchService fetch) => TypedResults.Ok(fetch.BuiltIns.Select(b => View(b, fetch)).ToList()))
            .WithName("ListBuiltInDatasets").WithSummary("Built-in datasets, fetched or not, with licence, source and fetch state");
        g.MapGet("/pairs", (IDomainPairs pairs) => TypedResults.Ok(pairs.All()))
            .WithName("ListDomainPairs").WithSummary("Domain-adaptation pairs: labelled source, target (unlabelled for training), shared classes, readiness");
        g.MapGet("/pairs/{id}", Results<Ok<DomainPairView>, NotFound> (string id, IDomainPairs pairs) =>
                pairs.Find(id) is { } p ? TypedResults.Ok(p) : TypedResults.NotFound())
            .WithName("GetDomainPair").WithSummary("One domain pair");
        g.MapGet("/{id}", Results<Ok<DatasetInfo>, NotFound> (string id, IDatasetCatalog datasets) =>
                datasets.Find(id) is { } info ? TypedResults.Ok(info) : TypedResults.NotFound())
            .WithName("GetDataset").WithSummary("One stored dataset's facts");
        g.MapDelete("/{id}", Results<NoContent, NotFound, ProblemHttpResult> (string id, DatasetStore store) =>
                store.Find(id) switch
                {
                    null => TypedResults.NotFound(),
                    { Origin: not DatasetOrigin.Upload } => Problem(StatusCodes.Status409Conflict, "The dataset was not deleted.", $"'{id}' is a built-in dataset; built-in datasets are not deleted, they would be fetched again."),
                    _ => store.Delete(id) ? TypedResults.NoContent() : TypedResults.NotFound(),
                })
            .RequireAuthorization(ZooPolicies.Admin)
            .WithName("DeleteDataset").WithSummary("Deletes an uploaded dataset");
        g.MapPost("/{id}/fetch", Results<Accepted<FetchState>, Ok<FetchState>, ProblemHttpResult> (string id, DatasetFetchService fetch) =>
            {
                if (fetch.FindBuiltIn(id) is null) return NotBuiltIn(id);
                var state = fetch.Start(id);
                return state.Phase == FetchPhase.Ready ? TypedResults.Ok(state) : TypedResults.Accepted($"/api/datasets/builtins", state);
            })
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("FetchDataset").WithSummary("Starts fetching a built-in dataset (202 with its state; 200 when it is stored already)");
        g.MapDelete("/{id}/fetch", Results<Ok<FetchState>, ProblemHttpResult> (string id, DatasetFetchService fetch) =>
                fetch.FindBuiltIn(id) is null ? NotBuiltIn(id)
                : fetch.Cancel(id) ? TypedResults.Ok(fetch.StateOf(id))
                : Problem(StatusCodes.Status409Conflict, "Nothing to cancel.", $"No fetch of '{id}' is running."))
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("CancelDatasetFetch").WithSummary("Cancels a running fetch of a built-in dataset; nothing of it is kept (409 when none runs)");
        g.MapPost("/upload", UploadAsync)
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("UploadDataset")
            .WithSummary("Imports an ImageFolder zip sent as the request body (Content-Type application/zip; ?name=&license=&fileName=&mirrorInvariant=true "
                + "when a mirrored image keeps its class, which allows flips; duplicates=drop (default: byte-identical copies and conflicting-label groups "
                + "are dropped and listed in the answer's `cleaning`, with near-duplicates across the split) or duplicates=refuse); "
                + "400 is problem details whose `count` and `problems` give every file and reason");
        g.MapPut("/{id}/augmentation", UpdateAugmentation)
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("UpdateDatasetAugmentation")
            .WithSummary("Replaces an image dataset's augmentation profile (the body: horizontalFlip, minCropScale, maxRotationDegrees, colorJitter); "
                + "400 names each invalid field, 404 an unknown dataset, 409 a text dataset");
        g.MapPost("/text/inspect", InspectTextAsync)
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("InspectTextTable")
            .WithSummary("First step of a text upload: the CSV/TSV as the body (?fileName=reviews.csv); returns its columns, the first rows and suggested text and label columns; 400 lists each problem");
        g.MapPost("/text/upload", UploadTextAsync)
            .RequireAuthorization(ZooPolicies.Analyst)
            .WithName("UploadTextDataset")
            .WithSummary("Imports a CSV/TSV sent as the body with the chosen columns (?name=&textColumn=&labelColumn=&fileName=&license=&duplicates=drop|refuse; "
                + "drop, the default, drops repeated rows and texts under two labels and lists them in the answer's `cleaning`); 400 lists each row and reason");
        return app;
    }

    static void LiftBodyLimit(HttpContext http, long max)
    {
        // The importers enforce their upload limits with a precise message; lift the server's default (30 MB) to just above.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = max + 1;
    }

    static async Task<Results<Ok<TextTablePreview>, ProblemHttpResult>> InspectTextAsync(
        HttpContext http, TextTableImporter importer, string? fileName, CancellationToken ct)
    {
        LiftBodyLimit(http, importer.Options.MaxUploadBytes);
        try { return TypedResults.Ok(await importer.InspectAsync(http.Request.Body, fileName ?? "upload.csv", http.Request.ContentLength, ct)); }
        catch (DatasetRejectedException e) { return Rejected(e.Message, e.Problems); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Rejected(e.Message, [new UploadProblem(fileName ?? "upload.csv", e.Message)]);
        }
    }

    static async Task<Results<Created<DatasetInfo>, ProblemHttpResult>> UploadTextAsync(
        HttpContext http, TextTableImporter importer, string name, string textColumn, string labelColumn, string? license, string? fileName,
        string? duplicates, CancellationToken ct)
    {
        if (ParsePolicy(duplicates) is not { } policy) return BadPolicy(duplicates);
        LiftBodyLimit(http, importer.Options.MaxUploadBytes);
        try
        {
            var info = await importer.ImportAsync(http.Request.Body, fileName ?? "upload.csv", http.Request.ContentLength, textColumn, labelColumn,
                new UploadDetails(name, license, Duplicates: policy), ct);
            return TypedResults.Created($"/api/datasets/{info.Id}", info);
        }
        catch (DatasetRejectedException e) { return Rejected(e.Message, e.Problems); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Rejected(e.Message, [new UploadProblem(fileName ?? "upload.csv", e.Message)]);
        }
    }

    static Results<Ok<DatasetInfo>, ValidationProblem, NotFound, ProblemHttpResult> UpdateAugmentation(
        string id, AugmentationProfile profile, DatasetStore store)
    {
        try { return TypedResults.Ok(store.UpdateAugmentation(id, profile)); }
        catch (AugmentationRejectedException e)
        {
            return TypedResults.ValidationProblem(e.Errors.ToDictionary(x => x.Key, x => new[] { x.Value }),
                title: "The augmentation profile is invalid; the dataset keeps its profile.");
        }
        catch (KeyNotFoundException) { return TypedResults.NotFound(); }
        catch (InvalidOperationException e) { return Problem(StatusCodes.Status409Conflict, "The augmentation profile was not changed.", e.Message); }
    }

    static ProblemHttpResult Problem(int status, string title, string detail) => TypedResults.Problem(detail, statusCode: status, title: title);

    static ProblemHttpResult NotBuiltIn(string id) => Problem(StatusCodes.Status404NotFound, "Not found.", $"'{id}' is not a built-in dataset.");

    /// <summary>A refusal as problem details; <c>problems</c> holds every reason, <c>count</c> how many (a page can list
    /// them in pages).</summary>
    static ProblemHttpResult Rejected(string error, IReadOnlyList<UploadProblem> problems) => TypedResults.Problem(new ProblemDetails
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "The upload was rejected; nothing was stored.",
        Detail = error,
        Extensions = { ["error"] = error, ["count"] = problems.Count, ["problems"] = problems },
    });

    /// <summary>The <c>duplicates</c> parameter: absent means drop; anything but drop or refuse is null.</summary>
    public static DuplicatePolicy? ParsePolicy(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "drop" => DuplicatePolicy.Drop,
        "refuse" => DuplicatePolicy.Refuse,
        _ => null,
    };

    // Refused before the body is read, so nothing is received or stored.
    static ProblemHttpResult BadPolicy(string? value) =>
        Rejected($"The query parameter 'duplicates' is '{value}'; use 'drop' (keep the first copy, drop conflicting labels) or 'refuse'.",
            [new UploadProblem("", $"duplicates='{value}' is not one of: drop, refuse")]);

    static BuiltInView View(BuiltInDataset b, DatasetFetchService fetch) =>
        new(b.Id, b.Title, b.Description, b.Registry, b.Package, b.License, b.DownloadSize, fetch.StateOf(b.Id));

    static async Task<Results<Created<DatasetInfo>, ProblemHttpResult>> UploadAsync(
        HttpContext http, ImageFolderImporter importer, string name, string? license, string? fileName, bool? mirrorInvariant, string? duplicates,
        CancellationToken ct)
    {
        if (ParsePolicy(duplicates) is not { } policy) return BadPolicy(duplicates);
        LiftBodyLimit(http, importer.Options.MaxUploadBytes);
        try
        {
            var details = new UploadDetails(name, license, MirrorInvariant: mirrorInvariant ?? false, Duplicates: policy);
            var info = await importer.ImportAsync(http.Request.Body, fileName ?? "upload.zip", details, null, ct,
                http.Request.ContentLength);
            return TypedResults.Created($"/api/datasets/{info.Id}", info);
        }
        catch (DatasetRejectedException e)
        {
            return Rejected(e.Message, e.Problems);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Rejected(e.Message, [new UploadProblem(fileName ?? "upload.zip", e.Message)]);
        }
    }
}
