using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Patterns;

namespace ModelZoo.Web.Errors;

/// <summary>
/// Problem details for API answers that would otherwise have an empty body: an endpoint's bare 404 for an unknown id,
/// a path no endpoint serves, a method an endpoint does not take. Each says which thing was not found or what to send.
/// </summary>
public static class ApiProblems
{
    public static bool IsApi(HttpContext http) => http.Request.Path.StartsWithSegments("/api");

    internal static async Task WriteStatusCodeAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        if (!IsApi(http)) return;
        var status = http.Response.StatusCode;
        var (title, detail) = Describe(http, status);
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    static (string Title, string Detail) Describe(HttpContext http, int status)
    {
        var request = $"{http.Request.Method} {http.Request.Path}";
        var endpoint = http.GetEndpoint() as RouteEndpoint;
        return status switch
        {
            StatusCodes.Status404NotFound when endpoint is null =>
                ("No such API endpoint.", $"No endpoint answers {request}; /openapi/v1.json lists them all."),
            StatusCodes.Status404NotFound => ("Not found.", UnknownId(http, endpoint) ?? $"Nothing was found for {request}."),
            StatusCodes.Status405MethodNotAllowed =>
                ("Method not allowed.", $"{http.Request.Path} does not take {http.Request.Method}"
                    + (http.Response.Headers.Allow is { Count: > 0 } allow ? $"; it takes {string.Join(", ", allow.ToArray())}." : ".")),
            StatusCodes.Status415UnsupportedMediaType =>
                // Minimal APIs answer this for a JSON body sent as something else (uploads read their bodies raw).
                ("The request body has the wrong content type.", $"The request body must be JSON, sent with 'Content-Type: application/json'; it was sent as "
                    + (string.IsNullOrEmpty(http.Request.ContentType) ? "no content type." : $"'{http.Request.ContentType}'.")),
            StatusCodes.Status400BadRequest => ("The request could not be read.", $"{request} was refused as malformed."),
            StatusCodes.Status401Unauthorized => ("Not signed in.", $"{request} needs a signed-in user or an API token."),
            StatusCodes.Status403Forbidden => ("Not allowed.", $"Your role does not allow {request}."),
            >= 500 => ("The server failed to answer this request.",
                $"Something went wrong on the server; quote the request id {ErrorsSetup.RequestId(http)} when you report it."),
            _ => (ReasonPhrase(status), $"{request} answered {status}."),
        };
    }

    /// <summary>"There is no run '…'": the thing is named after the route's segment before its first parameter.</summary>
    static string? UnknownId(HttpContext http, RouteEndpoint endpoint)
    {
        var segments = endpoint.RoutePattern.PathSegments;
        for (int i = 1; i < segments.Count; i++)
        {
            if (segments[i].Parts is not [RoutePatternParameterPart p]) continue;
            if (segments[i - 1].Parts is not [RoutePatternLiteralPart noun]) return null;
            var value = http.GetRouteValue(p.Name)?.ToString();
            var thing = noun.Content switch
            {
                "pairs" => "domain pair",
                "models" => "catalogue entry",
                var s when s.EndsWith("ies", StringComparison.Ordinal) => s[..^3] + "y",
                var s when s.EndsWith('s') => s[..^1],
                var s => s,
            };
            if (i == segments.Count - 1) return $"There is no {thing} '{value}'.";
            // A deeper path (…/runs/{id}/card) may miss either the thing or what it holds; say both.
            var rest = string.Join('/', http.Request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries).Skip(i + 1));
            return $"Nothing was found for {http.Request.Method} {http.Request.Path}: there is no {thing} '{value}', or it has no '{rest}' (yet).";
        }
        return null;
    }

    static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } r ? r + "." : "Error.";
}
