using System.Text.Json.Serialization;
using ModelZoo.Core.Runs;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Components.Shared;
using ModelZoo.Web.Errors;
using Microsoft.AspNetCore.Hosting.StaticWebAssets;
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
        services.AddZooErrors();
        services.AddSingleton<RunNotifier>();
        services.AddSingleton<IRunEventBroadcaster, RunEventRelay>();
        services.AddSingleton<MarkdownRenderer>();
        return services;
    }

    /// <summary>
    /// The framework's and packages' assets (<c>_framework/blazor.web.js</c>, <c>_content/MudBlazor/...</c>) in every
    /// environment. From a build (not a publish) they live in the NuGet cache and the project folder, listed by the
    /// build's static-web-assets manifest, which ASP.NET Core reads only in Development: in Production, as the README's
    /// command runs, they answered 200 with empty bodies. A published app has no such manifest and is unaffected.
    /// </summary>
    public static Microsoft.AspNetCore.StaticAssets.StaticAssetsEndpointConventionBuilder MapZooStaticAssets(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment()) StaticWebAssetsLoader.UseStaticWebAssets(app.Environment, app.Configuration);
        return app.MapStaticAssets();
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
