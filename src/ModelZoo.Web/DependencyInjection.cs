using System.Text.Json.Serialization;
using ModelZoo.Core.Runs;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Components.Shared;
using MudBlazor.Services;

namespace ModelZoo.Web;

public static class DependencyInjection
{
    /// <summary>Blazor Server with MudBlazor, the SignalR hub, the REST API's JSON and OpenAPI, health checks.</summary>
    public static IServiceCollection AddZooWeb(this IServiceCollection services)
    {
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddMudServices();
        services.AddSignalR().AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            o.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        services.AddOpenApi();
        services.AddHealthChecks();
        services.AddSingleton<RunNotifier>();
        services.AddSingleton<IRunEventBroadcaster, RunEventRelay>();
        services.AddSingleton<MarkdownRenderer>();
        return services;
    }

    /// <summary>Serves the top-level wwwroot-assets/ folder, which the build copies beside the app.</summary>
    public static WebApplication UseZooAssets(this WebApplication app)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "wwwroot-assets");
        if (Directory.Exists(dir))
            app.UseStaticFiles(new StaticFileOptions { FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(dir) });
        return app;
    }
}
