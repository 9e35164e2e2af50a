using Microsoft.AspNetCore.Http.HttpResults;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Catalog;

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
        g.MapGet("/{id}/pretraining-overlap", Results<Ok<PretrainingOverlap>, ProblemHttpResult> (string id, string? dataset, ICatalog catalog,
                IDatasetCatalog datasets, PretrainingCorpora corpora) =>
            {
                if (catalog.Find(id) is not { } entry) return TypedResults.Problem($"There is no model '{id}'.", statusCode: 404);
                if (entry.Manifest.PretrainingCorpus is null) return TypedResults.Problem($"Model '{id}' records no pretraining corpus, so its overlap with a dataset is unknown.", statusCode: 404);
                if (string.IsNullOrWhiteSpace(dataset)) return TypedResults.Problem("Name the dataset: ?dataset=<id>.", statusCode: 400);
                if (datasets.Find(dataset) is not { } info) return TypedResults.Problem($"There is no dataset '{dataset}'.", statusCode: 404);
                if (info.Modality != DatasetModality.Text) return TypedResults.Problem($"Dataset '{dataset}' holds images; overlap is counted for texts.", statusCode: 400);
                return corpora.Measure(entry.Manifest, dataset, () => datasets.Load(dataset)) is { } overlap
                    ? TypedResults.Ok(overlap)
                    : TypedResults.Problem($"The pretraining corpus of '{id}' could not be read; the server log names the file.", statusCode: 500);
            })
            .WithName("GetPretrainingOverlap")
            .WithSummary("How many of a text dataset's texts, per split, the model's pretraining corpus holds word for word");
        return app;
    }

    static ModelSummary Summary(CatalogEntry e) => new(e.Id, e.Manifest.Title, e.Manifest.Architecture, e.Manifest.Family,
        e.Manifest.Task, e.ComputedParams, e.Manifest.Preprocessing.InputSize, e.Manifest.License.Name, e.Manifest.Provenance, e.Weights);
}
