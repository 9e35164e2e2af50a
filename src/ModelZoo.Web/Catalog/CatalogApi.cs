using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.Catalog;

namespace ModelZoo.Web.Catalog;

public static class CatalogApi
{
    public sealed record ModelSummary(string Id, string Title, string Architecture, string Family, string Task, long Params,
        int InputSize, string? License, string Provenance, WeightsAvailability Weights);

    public static IEndpointRouteBuilder MapCatalogApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/models").WithTags("Catalogue");
        g.MapGet("/", (ICatalog catalog) => TypedResults.Ok(catalog.All().Select(Summary).ToList()))
            .WithName("ListModels").WithSummary("Catalogue entries with computed parameter counts");
        g.MapGet("/{id}", Results<Ok<CatalogEntry>, NotFound> (string id, ICatalog catalog) =>
            catalog.Find(id) is { } e ? TypedResults.Ok(e) : TypedResults.NotFound())
            .WithName("GetModel").WithSummary("One catalogue entry with its manifest and card");
        return app;
    }

    static ModelSummary Summary(CatalogEntry e) => new(e.Id, e.Manifest.Title, e.Manifest.Architecture, e.Manifest.Family,
        e.Manifest.Task, e.ComputedParams, e.Manifest.Preprocessing.InputSize, e.Manifest.License.Name, e.Manifest.Provenance, e.Weights);
}
