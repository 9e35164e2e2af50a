using ModelZoo.Infrastructure;
using ModelZoo.Torch;
using ModelZoo.Web;
using ModelZoo.Web.Catalog;
using ModelZoo.Web.Components;
using ModelZoo.Web.Datasets;
using ModelZoo.Web.Errors;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Weights;

var builder = WebApplication.CreateBuilder(args);

builder.Services
    .AddZooTorch(builder.Configuration)
    .AddZooInfrastructure(builder.Configuration, builder.Environment.ContentRootPath)
    .AddZooWeb();

var app = builder.Build();

await app.Services.MigrateZooDatabaseAsync();
app.Services.WarmZooCatalog();

app.UseZooErrors();
app.UseAntiforgery();
app.MapZooStaticAssets();
app.UseZooAssets();

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.MapHub<RunsHub>(RunsHub.Path);
app.MapRunsApi();
app.MapPredictApi();
app.MapMistakesApi();
app.MapRunCardsApi();
app.MapRunsCompareApi();
app.MapQueueApi();
app.MapExperimentsApi();
app.MapStrategiesApi();
app.MapCatalogApi();
app.MapWeightsApi();
app.MapLatencyApi();
app.MapDatasetsApi();
app.MapOpenApi();
app.MapHealthChecks("/healthz");

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
