using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Web.Datasets;

public static class DatasetsApi
{
    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/datasets").WithTags("Datasets");
        g.MapGet("/", (IDatasetCatalog datasets) => TypedResults.Ok(datasets.All()))
            .WithName("ListDatasets").WithSummary("Datasets ready for runs, with licence, provenance and split sizes");
        g.MapGet("/fetch-state", (DatasetFetchService fetch) => TypedResults.Ok(fetch.State))
            .WithName("DatasetFetchState").WithSummary("Progress of the built-in dataset fetch");
        return app;
    }
}
