using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;

namespace ModelZoo.Web.Errors;

/// <summary>
/// How the portal answers when something goes wrong. API callers (<c>/api/...</c>) always get problem-details JSON
/// (RFC 9457) with a specific message and the request id; people get the <c>/error</c> page. Neither ever shows a
/// stack trace, an exception's type or the request's headers, in any environment, since the README's command is how
/// users run the portal.
/// </summary>
public static class ErrorsSetup
{
    public const string RequestIdKey = "requestId";

    public static IServiceCollection AddZooErrors(this IServiceCollection services)
    {
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            // One name for the id, the one the /error page shows (the framework's default calls it traceId).
            c.ProblemDetails.Extensions.Remove("traceId");
            c.ProblemDetails.Extensions.TryAdd(RequestIdKey, RequestId(c.HttpContext));
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        // Outside Development, minimal APIs answer a body they cannot bind with an empty 400 and log why; thrown, the
        // reason reaches ApiExceptionHandler, which turns it into a message the caller can act on.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }

    /// <summary>Problem details for every API error, the /error page for everything else.</summary>
    public static WebApplication UseZooErrors(this WebApplication app)
    {
        if (app.Environment.IsDevelopment())
            // The developer exception page stays for pages; API callers get what they get in Production.
            app.UseWhen(ApiProblems.IsApi, api => api.UseExceptionHandler());
        else
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseStatusCodePages(ApiProblems.WriteStatusCodeAsync);
        return app;
    }

    /// <summary>The id a user can quote and an operator can find in the log: the trace id where tracing runs.</summary>
    public static string RequestId(HttpContext http) => Activity.Current?.Id ?? http.TraceIdentifier;
}
