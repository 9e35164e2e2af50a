using ModelZoo.Infrastructure;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch;
using ModelZoo.Web;
using ModelZoo.Web.Accounts;
using ModelZoo.Web.Catalog;
using ModelZoo.Web.Components;
using ModelZoo.Web.Datasets;
using ModelZoo.Web.DomainGap;
using ModelZoo.Web.Recommender;
using ModelZoo.Web.Errors;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Security;
using ModelZoo.Web.Weights;

var builder = WebApplication.CreateBuilder(args);

builder.Services
    .AddZooTorch(builder.Configuration)
    .AddZooInfrastructure(builder.Configuration, builder.Environment.ContentRootPath)
    .AddZooWeb()
    .AddZooAccounts(builder.Configuration);

var app = builder.Build();
app.RefuseUnsafeAuthMode();

await app.Services.MigrateZooDatabaseAsync();
app.Services.RecoverZooDataFolder();
await app.Services.SeedZooAccountsAsync();
app.Services.WarmZooCatalog();

app.UseZooSecurityHeaders();
app.UseZooErrors();
app.UseZooAssets();
app.UseZooAccounts();
app.UseAntiforgery();
app.MapZooStaticAssets().AllowAnonymous();

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.MapAccountEndpoints();
app.MapHub<RunsHub>(RunsHub.Path);

// Every API endpoint needs at least a viewer; those that change things name a stricter policy beside them.
var api = app.MapGroup("").RequireAuthorization(ZooPolicies.Viewer);
api.MapRunsApi();
api.MapPredictApi();
api.MapMistakesApi();
api.MapCompressionsApi();
api.MapRunCardsApi();
api.MapRunsCompareApi();
api.MapQueueApi();
api.MapExperimentsApi();
api.MapStrategiesApi();
api.MapCatalogApi();
api.MapWeightsApi();
api.MapLatencyApi();
api.MapDatasetsApi();
api.MapDomainGapApi();
api.MapRecommenderApi();
app.MapOpenApi();
app.MapHealthChecks("/healthz").AllowAnonymous();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
